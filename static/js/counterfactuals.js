// "What would it take?" on the what-if page: asks the API's counterfactuals endpoint for the
// smallest changes of the inputs on screen that get the chosen class (or range), lists them,
// and Apply puts one into the form, whose own script (whatif.js) then redraws the answer.
// The suggestions belong to the inputs they were found from: after Apply they are searched
// again from the new inputs, and a change made by hand marks them as out of date.
(function () {
  "use strict";

  const panel = document.querySelector("[data-counterfactuals]");
  const form = document.getElementById("whatif-form");
  const names = document.getElementById("cf-inputs");
  if (!panel || !form || !names) return;
  const ask = panel.querySelector("[data-cf-form]");
  const list = panel.querySelector("[data-cf-list]");
  const message = panel.querySelector("[data-cf-message]");
  const inputs = JSON.parse(names.textContent);
  let applying = false;
  let applied = "";

  function csrfToken() {
    const el = document.querySelector("input[name=csrfmiddlewaretoken]");
    return el ? el.value : "";
  }

  function currentRow() {
    const data = new FormData(form);
    const row = {};
    inputs.forEach(function (name) {
      const values = data.getAll(name); // a boolean sends "false", then "true" when ticked
      const value = values.length ? values[values.length - 1] : "";
      row[name] = value === "" ? null : value;
    });
    return row;
  }

  function target() {
    const picked = ask.querySelector("[name=target]");
    if (picked) return picked.value;
    const range = {};
    ["min", "max"].forEach(function (end) {
      const box = ask.querySelector("[name=" + end + "]");
      if (box && box.value !== "") range[end] = Number(box.value);
    });
    return range;
  }

  function apply(answer) {
    applying = true;
    answer.changes.forEach(function (change) {
      const el = document.getElementById("in-" + change.input);
      if (!el) return;
      if (el.type === "checkbox") el.checked = change.to === true;
      else el.value = String(change.to);
      el.dispatchEvent(new Event(el.tagName === "SELECT" ? "change" : "input", { bubbles: true }));
      if (el.tagName === "SELECT") el.dispatchEvent(new Event("input", { bubbles: true }));
    });
    applying = false;
    applied = "Applied: " + answer.changes.map(function (c) { return c.text; }).join(" and ") + ". ";
    search();
  }

  // A change by hand: the listed suggestions were found for other inputs.
  function stale() {
    if (applying || !list.children.length) return;
    Array.from(list.children).forEach(function (item) {
      item.classList.add("is-stale");
      const button = item.querySelector("button");
      if (button) button.disabled = true;
    });
    message.textContent = "The inputs changed since these suggestions were found: find changes again.";
  }
  form.addEventListener("input", stale);
  form.addEventListener("change", stale);

  function show(body) {
    list.replaceChildren();
    message.textContent = applied + (body.message || "");
    applied = "";
    body.counterfactuals.forEach(function (answer) {
      const item = document.createElement("li");
      const text = document.createElement("span");
      text.textContent = answer.changes.map(function (c) { return c.text; }).join(" and ");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button secondary";
      button.textContent = "Apply";
      button.addEventListener("click", function () { apply(answer); });
      item.append(text, " ", button);
      list.append(item);
    });
  }

  function search() {
    const fixed = Array.from(ask.querySelectorAll("input[name=fixed]:checked:not(:disabled)"))
      .map(function (box) { return box.value; });
    message.textContent = applied + "Searching…";
    list.replaceChildren();
    fetch(panel.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({
        inputs: currentRow(),
        target: target(),
        fixed: fixed,
        margin: Number(panel.dataset.margin),
        version: Number(panel.dataset.version),
      }),
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (!result.ok) {
          message.textContent = (result.body.error && result.body.error.message) || "No answer.";
          return;
        }
        show(result.body);
      })
      .catch(function (error) { message.textContent = "No answer came back (" + error.message + ")."; });
  }

  ask.addEventListener("submit", function (event) {
    event.preventDefault();
    search();
  });
})();
