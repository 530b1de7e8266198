// A "Copy" button beside a read-only field: <button data-copy="#field-id">. Copies the
// field's value and says so; where the clipboard is unavailable (plain http on another
// host) it selects the text instead, for Ctrl-C.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const field = document.querySelector(button.dataset.copy);
    if (!field) return;
    event.preventDefault();
    const label = button.textContent;
    const done = function (text) {
      button.textContent = text;
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { done("Copied"); });
    } else {
      field.select();
      done("Selected: press Ctrl-C");
    }
  });
})();
