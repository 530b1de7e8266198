// Draws every figure on the page: a <script type="application/json" data-plotly> holding
// {"data": [...], "layout": {...}} beside a [data-plot-canvas] div. Runs on load and after
// every htmx swap; each script is drawn once.
(function () {
  "use strict";

  const config = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["lasso2d", "select2d"],
  };
  const drawn = new WeakSet();

  function draw(script) {
    if (drawn.has(script)) return;
    drawn.add(script);
    const canvas = script.parentElement.querySelector("[data-plot-canvas]");
    if (!canvas || !window.Plotly) return;
    let figure;
    try {
      figure = JSON.parse(script.textContent);
    } catch (error) {
      canvas.textContent = "This chart could not be read.";
      return;
    }
    const layout = Object.assign({ autosize: true }, figure.layout);
    window.Plotly.newPlot(canvas, figure.data, layout, config).then(function () {
      canvas.closest("figure").classList.add("is-drawn");
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("script[data-plotly]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawAll(document);
  });
  // After any swap, look at the whole page: an outerHTML swap's event target is the element
  // that was replaced, no longer in the document. Figures already drawn are skipped.
  document.addEventListener("htmx:afterSettle", function () {
    drawAll(document);
  });
})();
