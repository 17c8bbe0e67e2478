/*! paybank JavaScript SDK: window.Trustly and its legacy alias window.PayWithMyBank, a drop-in
 * for the provider's SDK (client-flows §1). One file, no dependencies, no inline styles. */
(function (window, document) {
  'use strict';

  if (window.Trustly && window.Trustly.paybank) {
    return; // loaded twice
  }

  var VERSION = '1.0.0';
  var script = document.currentScript;
  var scriptUrl = new URL(script ? script.src : '/', document.baseURI);
  var HOST = scriptUrl.origin;
  var ACCESS_ID = scriptUrl.searchParams.get('accessId') || '';
  // Pages the consumer can still cancel from: closing the panel there cancels the payment.
  var CANCELABLE_PAGES = ['select_bank', 'login', 'oauth', 'mfa', 'select_account', 'confirm'];
  var CLOSE_WAIT_MS = 3000;
  var PHONE_WIDTH_MAX = 600;

  var listeners = [];
  var lightbox = null;
  var widget = null;
  var frameCount = 0;

  // ---- Listeners ----------------------------------------------------------------------------

  function emit(command, obj) {
    var stop = false;
    listeners.slice().forEach(function (listener) {
      try {
        if (listener(command, obj) === false) {
          stop = true;
        }
      } catch (error) {
        window.setTimeout(function () { throw error; }); // report, but keep the panel working
      }
    });
    return !stop;
  }

  function addPanelListener(listener) {
    if (typeof listener === 'function') {
      listeners.push(listener);
    }
  }

  // ---- Establish data -----------------------------------------------------------------------

  function isFunction(value) {
    return typeof value === 'function';
  }

  // A path is resolved against the merchant's page, as a browser would follow it from there.
  function absoluteUrl(value) {
    if (typeof value !== 'string' || value.charAt(0) === '#' || /^[a-z][a-z0-9+.-]*:/i.test(value)) {
      return value;
    }
    if (!/^https?:$/.test(window.location.protocol)) {
      return value;
    }
    return new URL(value, window.location.href).href;
  }

  function prepare(establishData) {
    var data = {};
    Object.keys(establishData || {}).forEach(function (key) {
      data[key] = establishData[key];
    });
    if (!data.accessId) {
      data.accessId = ACCESS_ID;
    }
    var callbacks = { returnUrl: null, cancelUrl: null };
    ['returnUrl', 'cancelUrl'].forEach(function (key) {
      if (isFunction(data[key])) {
        callbacks[key] = data[key];
        data[key] = key === 'returnUrl' ? '#return' : '#cancel';
      } else {
        data[key] = absoluteUrl(data[key]);
      }
    });
    return { data: data, callbacks: callbacks };
  }

  // Nested objects become dotted field names, as the hosted pages read them.
  function flatten(value, prefix, pairs) {
    if (value === undefined || value === null || isFunction(value)) {
      return pairs;
    }
    if (typeof value === 'object') {
      Object.keys(value).forEach(function (key) {
        flatten(value[key], prefix ? prefix + '.' + key : key, pairs);
      });
    } else {
      pairs.push([prefix, String(value)]);
    }
    return pairs;
  }

  function postForm(action, pairs, target) {
    var form = document.createElement('form');
    form.method = 'post';
    form.action = action;
    form.target = target;
    form.acceptCharset = 'utf-8';
    form.hidden = true;
    pairs.forEach(function (pair) {
      var input = document.createElement('input');
      input.type = 'hidden';
      input.name = pair[0];
      input.value = pair[1];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
    form.parentNode.removeChild(form);
  }

  // ---- The overlay --------------------------------------------------------------------------

  function css(element, styles) {
    Object.keys(styles).forEach(function (key) {
      element.style[key] = styles[key];
    });
    return element;
  }

  function layoutPanel() {
    if (!lightbox) {
      return;
    }
    var phone = window.innerWidth < PHONE_WIDTH_MAX;
    css(lightbox.panel, {
      width: phone ? '100%' : '480px',
      height: phone ? '100%' : 'min(720px, calc(100% - 32px))',
      maxWidth: '100%',
      borderRadius: phone ? '0' : '12px'
    });
    if (phone) {
      lightbox.panel.style.transform = '';
    }
  }

  function closeButton() {
    var button = document.createElement('button');
    button.type = 'button';
    button.setAttribute('aria-label', 'Close');
    button.setAttribute('data-paybank', 'close');
    button.textContent = '\u00d7';
    css(button, {
      font: '24px/1 system-ui, sans-serif', width: '40px', height: '40px', border: '0',
      borderRadius: '8px', background: 'transparent', color: '#1f2937', cursor: 'pointer'
    });
    button.addEventListener('click', requestClose);
    return button;
  }

  function makeDraggable(bar, panel) {
    var start = null;
    var offset = { x: 0, y: 0 };
    css(bar, { cursor: 'move', touchAction: 'none' });
    bar.addEventListener('pointerdown', function (event) {
      if (event.target !== bar || window.innerWidth < PHONE_WIDTH_MAX) {
        return;
      }
      start = { x: event.clientX - offset.x, y: event.clientY - offset.y };
      bar.setPointerCapture(event.pointerId);
    });
    bar.addEventListener('pointermove', function (event) {
      if (start) {
        offset = { x: event.clientX - start.x, y: event.clientY - start.y };
        panel.style.transform = 'translate(' + offset.x + 'px, ' + offset.y + 'px)';
      }
    });
    bar.addEventListener('pointerup', function () { start = null; });
  }

  function createOverlay(options) {
    frameCount += 1;
    var root = css(document.createElement('div'), {
      position: 'fixed', inset: '0', zIndex: '2147483000', display: 'flex',
      alignItems: 'center', justifyContent: 'center', background: 'rgba(15, 23, 42, 0.6)'
    });
    root.setAttribute('role', 'dialog');
    root.setAttribute('aria-modal', 'true');
    root.setAttribute('aria-label', 'Pay with your bank');
    root.setAttribute('data-paybank', 'lightbox');
    var panel = css(document.createElement('div'), {
      position: 'relative', display: 'flex', flexDirection: 'column', overflow: 'hidden',
      background: '#ffffff', boxShadow: '0 20px 50px rgba(0, 0, 0, 0.35)'
    });
    var showClose = options.closeButton !== false;
    var draggable = options.dragAndDrop !== false;
    if (showClose || draggable) {
      var bar = css(document.createElement('div'), {
        display: 'flex', justifyContent: 'flex-end', alignItems: 'center', padding: '4px',
        minHeight: '40px', flex: '0 0 auto', borderBottom: '1px solid #e5e7eb'
      });
      if (showClose) {
        bar.appendChild(closeButton());
      }
      if (draggable) {
        makeDraggable(bar, panel);
      }
      panel.appendChild(bar);
    }
    var frame = css(document.createElement('iframe'), {
      flex: '1 1 auto', width: '100%', border: '0', display: 'block'
    });
    frame.name = 'paybank-lightbox-' + frameCount;
    frame.title = 'Pay with your bank';
    frame.setAttribute('data-paybank', 'lightbox-frame');
    panel.appendChild(frame);
    root.appendChild(panel);
    return { root: root, panel: panel, frame: frame };
  }

  function onKeyDown(event) {
    if (event.key === 'Escape') {
      requestClose();
    }
  }

  function removeLightbox() {
    if (!lightbox) {
      return;
    }
    var closed = lightbox;
    lightbox = null;
    window.clearTimeout(closed.closeTimer);
    window.removeEventListener('resize', layoutPanel);
    document.removeEventListener('keydown', onKeyDown);
    if (closed.root.parentNode) {
      closed.root.parentNode.removeChild(closed.root);
    }
    if (closed.focusBefore && closed.focusBefore.focus) {
      closed.focusBefore.focus();
    }
    emit('close', { transactionId: closed.transactionId });
  }

  // Closing while the consumer can still cancel cancels the payment, so the merchant hears of
  // it exactly as from the Lightbox's own cancel button.
  function requestClose() {
    if (!lightbox) {
      return;
    }
    if (CANCELABLE_PAGES.indexOf(lightbox.page) === -1 || lightbox.closing) {
      removeLightbox();
      return;
    }
    lightbox.closing = true;
    lightbox.frame.contentWindow.postMessage('PayWithMyBank.closeLightbox', HOST);
    lightbox.closeTimer = window.setTimeout(removeLightbox, CLOSE_WAIT_MS);
  }

  // ---- Public functions ---------------------------------------------------------------------

  function establish(establishData, options) {
    options = options || {};
    if (lightbox) {
      removeLightbox();
    }
    emit('open', {});
    var prepared = prepare(establishData);
    lightbox = createOverlay(options);
    lightbox.callbacks = prepared.callbacks;
    lightbox.notifyHost = (prepared.data.metadata || {}).integrationContext === 'InAppBrowserNotify';
    lightbox.focusBefore = document.activeElement;
    document.body.appendChild(lightbox.root);
    layoutPanel();
    window.addEventListener('resize', layoutPanel);
    document.addEventListener('keydown', onKeyDown);
    var start = prepared.data.paymentProviderId ? 'selectBank' : 'index';
    var action = HOST + '/start/selectBank/' + start + '?v=' + VERSION + '-js-sdk';
    postForm(action, flatten(prepared.data, '', []), lightbox.frame.name);
    lightbox.frame.focus();
  }

  function selectBankWidget(establishData, options, onBankSelected) {
    options = options || {};
    var container = document.getElementById(options.widgetContainerId);
    if (!container) {
      throw new Error('Trustly.selectBankWidget: no element with id "' + options.widgetContainerId + '"');
    }
    var data = establishData || {};
    var params = new URLSearchParams();
    params.set('v', VERSION + '-js-sdk');
    params.set('accessId', data.accessId || ACCESS_ID);
    ['merchantId', 'paymentType', 'lang'].forEach(function (key) {
      if (data[key]) {
        params.set(key, data[key]);
      }
    });
    var frame = css(document.createElement('iframe'), {
      width: '100%', height: '360px', border: '0', display: 'block'
    });
    frame.title = 'Select your bank';
    frame.setAttribute('data-paybank', 'widget-frame');
    frame.src = HOST + '/start/selectBank/widget?' + params.toString();
    container.textContent = '';
    container.appendChild(frame);
    widget = { frame: frame, establishData: data, options: options, onBankSelected: onBankSelected };
  }

  function proceedToChooseAccount() {
    if (lightbox) {
      lightbox.frame.contentWindow.postMessage('PayWithMyBank.proceedToChooseAccount', HOST);
    }
  }

  // ---- Messages from the hosted pages -------------------------------------------------------

  function panelEvent(parts) {
    return {
      type: parts[5],
      page: parts[2],
      transactionId: parts[3],
      merchantReference: (parts[4] || '').replace(/%7C/g, '|'),
      data: parts[6]
    };
  }

  function queryParams(url) {
    var query = url.indexOf('?') === -1 ? '' : url.slice(url.indexOf('?') + 1);
    var params = {};
    new URLSearchParams(query).forEach(function (value, key) { params[key] = value; });
    return params;
  }

  function goTo(url, callbacks, notifyHost) {
    var callback = url.indexOf('#return') === 0 ? callbacks.returnUrl
      : url.indexOf('#cancel') === 0 ? callbacks.cancelUrl : null;
    if (callback) {
      callback(url, queryParams(url));
    } else if (!notifyHost) {
      window.location.assign(url); // the app reading messages decides itself
    }
  }

  function onLightboxMessage(parts) {
    var obj = panelEvent(parts);
    if (obj.type === 'load') {
      lightbox.page = obj.page;
      lightbox.transactionId = obj.transactionId;
    }
    var proceed = emit('event', obj);
    if (obj.type === 'new_location') {
      var callbacks = lightbox.callbacks;
      var notifyHost = lightbox.notifyHost;
      removeLightbox();
      if (proceed) {
        goTo(obj.data, callbacks, notifyHost);
      }
    }
  }

  function onWidgetBank(bankId) {
    emit('event', { type: 'bank_selected', page: 'widget', data: bankId });
    if (isFunction(widget.onBankSelected) &&
        widget.onBankSelected({ paymentProviderId: bankId }) === false) {
      return;
    }
    var data = {};
    Object.keys(widget.establishData).forEach(function (key) {
      data[key] = widget.establishData[key];
    });
    data.paymentProviderId = bankId;
    establish(data, widget.options);
  }

  function onWidgetMessage(parts) {
    if (parts[0] === 'PayWithMyBank.createTransaction') {
      onWidgetBank(parts[1]);
    } else if (parts[0] === 'PayWithMyBank.resize') {
      var height = Math.max(120, Math.min(parseInt(parts[2], 10) || 0, 4000));
      widget.frame.style.height = height + 'px';
    } else if (parts[0] === 'PayWithMyBank.event') {
      emit('event', panelEvent(parts));
    }
  }

  window.addEventListener('message', function (event) {
    if (event.origin !== HOST || typeof event.data !== 'string') {
      return;
    }
    var parts = event.data.split('|');
    if (lightbox && event.source === lightbox.frame.contentWindow) {
      if (parts[0] === 'PayWithMyBank.event') {
        onLightboxMessage(parts);
      }
    } else if (widget && event.source === widget.frame.contentWindow) {
      onWidgetMessage(parts);
    }
  });

  var api = {
    establish: establish,
    selectBankWidget: selectBankWidget,
    addPanelListener: addPanelListener,
    proceedToChooseAccount: proceedToChooseAccount,
    version: VERSION,
    paybank: true
  };
  window.Trustly = api;
  window.PayWithMyBank = api;
})(window, document);
