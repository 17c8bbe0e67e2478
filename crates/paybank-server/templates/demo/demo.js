// Demo Shop checkout: asks the shop's server for signed establish data, then opens the bank
// authorization with the paybank JavaScript SDK (window.Trustly), and logs every SDK event.
(function () {
  'use strict';

  var amountInput = document.getElementById('amount');
  var errorLine = document.getElementById('checkout-error');
  var eventLog = document.getElementById('sdk-events');
  var buttons = [document.getElementById('pay-overlay'), document.getElementById('pay-widget')];
  var listening = false;

  function showError(message) {
    errorLine.textContent = message;
    errorLine.hidden = !message;
  }

  function setBusy(busy) {
    buttons.forEach(function (button) { button.disabled = busy; });
  }

  // One line per listener call: the command, then obj.type and obj.page when present.
  function logSdkEvent(command, obj) {
    var parts = [command];
    if (obj && obj.type) { parts.push(obj.type); }
    if (obj && obj.page) { parts.push(obj.page); }
    var item = document.createElement('li');
    item.textContent = parts.join(' ');
    eventLog.appendChild(item);
  }

  // The SDK is loaded by the script tag before this one; it may be missing if that failed.
  function sdk() {
    if (!window.Trustly) {
      throw new Error('The paybank JavaScript SDK did not load (/start/scripts/trustly.js).');
    }
    if (!listening) {
      window.Trustly.addPanelListener(logSdkEvent);
      listening = true;
    }
    return window.Trustly;
  }

  // The shop's server signs the establish data: the accessKey never reaches the browser.
  function fetchEstablishData() {
    return fetch('/demo/api/establish', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ amount: amountInput.value })
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) {
          throw new Error(answer.error || ('The shop answered ' + response.status + '.'));
        }
        return answer.establishData;
      });
    });
  }

  function payWith(open) {
    return function () {
      showError('');
      setBusy(true);
      fetchEstablishData()
        .then(function (establishData) { open(sdk(), establishData); })
        .catch(function (error) { showError(error.message); })
        .then(function () { setBusy(false); });
    };
  }

  buttons[0].addEventListener('click', payWith(function (trustly, establishData) {
    trustly.establish(establishData, { closeButton: true, dragAndDrop: true });
  }));
  buttons[1].addEventListener('click', payWith(function (trustly, establishData) {
    trustly.selectBankWidget(establishData, { widgetContainerId: 'widget' });
  }));

  try {
    sdk();
  } catch (error) {
    showError(error.message);
  }
})();
