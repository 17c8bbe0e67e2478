/*! paybank hosted pages: bank search as you type, the messages the JavaScript SDK and the
 * mobile SDKs read (client-flows §1), and bank OAuth windows. Every page works without it. */
(function () {
  'use strict';

  var main = document.getElementById('main');
  if (!main) {
    return;
  }
  var data = main.dataset;
  var page = data.page || '';
  var inFrame = window.parent !== window;
  var notifyHost = data.integrationContext === 'InAppBrowserNotify';
  if (inFrame) {
    document.documentElement.classList.add('framed');
  }

  // ---- Messages to whoever hosts the page -------------------------------------------------

  // Pipe-separated strings, as the mobile SDKs parse them; a '|' inside a field is escaped so
  // the fields stay where the parsers expect them.
  function field(value) {
    return String(value === undefined || value === null ? '' : value).replace(/\|/g, '%7C');
  }

  function eventMessage(type, value) {
    var fields = ['', page, data.transactionId, data.merchantReference, type, value, ''];
    return 'PayWithMyBank.event|' + fields.map(field).join('|');
  }

  // The SDK's page is the only one that can frame us (frame-ancestors), so its origin is the
  // parent's; browsers without ancestorOrigins fall back to '*', still under that policy.
  function parentOrigin() {
    var ancestors = window.location.ancestorOrigins;
    return ancestors && ancestors.length ? ancestors[0] : '*';
  }

  function post(message) {
    if (inFrame) {
      window.parent.postMessage(message, parentOrigin());
    }
    var handlers = window.webkit && window.webkit.messageHandlers;
    if (handlers && handlers.PayWithMyBankNativeSDK) {
      handlers.PayWithMyBankNativeSDK.postMessage(message);
    }
    if (window.TrustlyNativeSDK && window.TrustlyNativeSDK.postMessage) {
      window.TrustlyNativeSDK.postMessage(message);
    }
    if (window.ReactNativeWebView && window.ReactNativeWebView.postMessage) {
      window.ReactNativeWebView.postMessage(message);
    }
  }

  // Inside the SDK's overlay, or for an app that reads messages, the last page stays in the
  // Lightbox and reports where to go instead of the server redirecting the frame there.
  var reportsResult = inFrame || notifyHost;

  // ---- Forms --------------------------------------------------------------------------------

  function actionOf(form) {
    var action = form.getAttribute('action') || '';
    return action.slice(action.lastIndexOf('/') + 1);
  }

  function markRespondOnPage(form) {
    if (!reportsResult || form.querySelector('input[name="respond"]')) {
      return;
    }
    var input = document.createElement('input');
    input.type = 'hidden';
    input.name = 'respond';
    input.value = 'page';
    form.appendChild(input);
  }

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if ((form.method || '').toLowerCase() !== 'post') {
      return;
    }
    markRespondOnPage(form);
    var action = actionOf(form);
    if (action === 'bank' && event.submitter) {
      post(eventMessage('bank_selected', event.submitter.value));
    } else if (action === 'back') {
      post(eventMessage('back', ''));
    }
  });

  function cancelFromHost() {
    var forms = document.querySelectorAll('form[method="post"]');
    for (var i = 0; i < forms.length; i += 1) {
      if (actionOf(forms[i]) === 'cancel') {
        markRespondOnPage(forms[i]);
        forms[i].submit();
        return;
      }
    }
  }

  function proceedToChooseAccount() {
    if (data.sessionPath) {
      window.location.replace(data.sessionPath);
    }
  }

  // Native SDKs call window.Trustly.proceedToChooseAccount() on this page after a bank login
  // in an in-app browser; the bank's own window calls it on its opener.
  window.Trustly = window.Trustly || {};
  window.Trustly.proceedToChooseAccount = proceedToChooseAccount;

  window.addEventListener('message', function (event) {
    if (event.source !== window.parent || event.source === window) {
      return;
    }
    if (event.data === 'PayWithMyBank.proceedToChooseAccount') {
      proceedToChooseAccount();
    } else if (event.data === 'PayWithMyBank.closeLightbox') {
      cancelFromHost();
    }
  });

  // ---- Bank search as you type ----------------------------------------------------------------

  function setUpSearch() {
    var input = document.getElementById('bank-search');
    var list = document.getElementById('bank-list');
    if (!input || !list) {
      return;
    }
    var noMatch = document.getElementById('no-match');
    var noMatchQuery = document.getElementById('no-match-query');
    var count = document.getElementById('bank-count');
    function filter() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      var items = list.querySelectorAll('li');
      for (var i = 0; i < items.length; i += 1) {
        var bank = items[i].querySelector('[data-bank-name]');
        var name = bank ? bank.getAttribute('data-bank-name').toLowerCase() : '';
        var matches = words.every(function (word) { return name.indexOf(word) !== -1; });
        items[i].hidden = !matches;
        shown += matches ? 1 : 0;
      }
      if (noMatch) {
        noMatch.hidden = shown !== 0;
      }
      if (noMatchQuery) {
        noMatchQuery.textContent = input.value;
      }
      if (count) {
        count.textContent = shown === 1 ? '1 bank' : shown + ' banks';
      }
      reportSize();
    }
    input.addEventListener('input', filter);
    input.form.addEventListener('submit', function (event) {
      event.preventDefault();
      filter();
    });
  }

  // ---- The widget -----------------------------------------------------------------------------

  function reportSize() {
    if (page !== 'widget') {
      return;
    }
    var width = document.documentElement.scrollWidth;
    var height = document.documentElement.scrollHeight;
    if (inFrame) {
      window.parent.postMessage('PayWithMyBank.resize|' + width + '|' + height, parentOrigin());
    }
    if (window.TrustlyNativeSDK && window.TrustlyNativeSDK.resize) {
      window.TrustlyNativeSDK.resize(width, height);
    }
  }

  function setUpWidget() {
    document.addEventListener('click', function (event) {
      var bank = event.target.closest && event.target.closest('a[data-bank-id]');
      if (!bank) {
        return;
      }
      var message = 'PayWithMyBank.createTransaction|' + bank.getAttribute('data-bank-id');
      // A top-level WebView catches the msg://push link itself; anything else is told.
      if (inFrame || notifyHost || window.ReactNativeWebView) {
        event.preventDefault();
        post(message);
      }
    });
    reportSize();
  }

  // ---- Bank OAuth windows ---------------------------------------------------------------------

  function setUpOAuthStart() {
    var link = document.getElementById('oauth-open');
    var waiting = document.getElementById('oauth-waiting');
    if (!link) {
      return;
    }
    link.addEventListener('click', function (event) {
      var url = link.href;
      if (data.oauthOpening === 'message') {
        event.preventDefault();
        post('PayWithMyBank.ExternalBrowserIntegration|oauth|' + url);
      } else if (data.oauthOpening === 'same-window') {
        event.preventDefault();
        window.location.assign(url);
        return;
      } else if (window.open(url, 'paybank_oauth', 'popup,width=480,height=680')) {
        event.preventDefault();
      }
      if (waiting) {
        waiting.hidden = false;
      }
    });
  }

  // The bank's window, once the login is done: hand back to the Lightbox that opened it, or
  // go where the Lightbox (or the app around it) continues.
  function finishOAuthWindow() {
    var opener = null;
    try {
      if (window.opener && window.opener.Trustly && window.opener.Trustly.proceedToChooseAccount) {
        opener = window.opener;
      }
    } catch (error) {
      opener = null; // another origin: nothing to call
    }
    if (opener) {
      opener.Trustly.proceedToChooseAccount();
      window.close();
    } else if (data.outcome === 'logged_in' && data.afterOauthUrl) {
      window.location.replace(data.afterOauthUrl);
    }
  }

  // ---- The last page --------------------------------------------------------------------------

  function reportResult() {
    var link = document.getElementById('continue');
    if (!link || !reportsResult) {
      return;
    }
    var url = link.getAttribute('href');
    if (link.getAttribute('data-outcome') === 'return') {
      post(eventMessage('close', 'return'));
      post('PayWithMyBank.closePanel|' + url);
    } else {
      post(eventMessage('close', 'cancel'));
    }
    post(eventMessage('new_location', url));
  }

  // ---- Start ----------------------------------------------------------------------------------

  if (page === 'oauth_login') {
    if (data.outcome) {
      finishOAuthWindow();
    }
    return;
  }
  post(eventMessage('load', ''));
  setUpSearch();
  if (page === 'widget') {
    setUpWidget();
  } else if (page === 'oauth') {
    setUpOAuthStart();
  } else if (page === 'finished' || page === 'canceled' || page === 'expired') {
    reportResult();
  }
})();
