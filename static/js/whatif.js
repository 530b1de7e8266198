// The what-if form: each number has a box and a slider that move together. Only the box has
// a name, so the form (and the shareable URL) carries one value per input; htmx submits the
// form as either changes (see hx-trigger on the form).
(function () {
  "use strict";

  function pair(slider) {
    return document.getElementById(slider.dataset.for);
  }

  document.addEventListener("input", function (event) {
    const el = event.target;
    if (el.matches("input[type=range][data-for]")) {
      const box = pair(el);
      if (box) {
        box.value = el.value;
        box.dispatchEvent(new Event("input", { bubbles: true }));
      }
    } else if (el.matches("input[type=number]")) {
      const slider = document.querySelector('input[type=range][data-for="' + el.id + '"]');
      if (slider && el.value !== "") slider.value = el.value;
    }
  });

  // Copy the share link to the clipboard.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy-link]");
    if (!button) return;
    event.preventDefault();
    navigator.clipboard.writeText(window.location.href).then(function () {
      button.textContent = "Link copied";
      setTimeout(function () { button.textContent = "Copy link"; }, 2000);
    });
  });
})();
