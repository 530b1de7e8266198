// Draws every figure on the page: a <script type="application/json" data-plotly> holding
// {"data": [...], "layout": {...}} beside a [data-plot-canvas] div. Runs on load and after
// every htmx swap; each script is drawn once. window.PortalPlots.update(figureEl, figure)
// redraws a drawn figure in place (see update below), for pages that redraw as inputs change.
(function () {
  "use strict";

  const config = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["lasso2d", "select2d"],
    // On a phone the toolbar would sit over the figure's title; its tools need a mouse.
    displayModeBar: window.matchMedia("(max-width: 820px)").matches ? false : "hover",
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
    plot(canvas, figure);
  }

  // The parts of a figure that an in-place update may change without Plotly redrawing the
  // figure's frame: the traces' numbers, the layout's shapes. Anything else that differs
  // (a title, an axis, a trace's style) goes through Plotly.react.
  const MOVING = ["x", "y", "z", "text"];

  function frameOf(figure) {
    const layout = Object.assign({}, figure.layout);
    delete layout.shapes;
    const traces = figure.data.map(function (trace) {
      const rest = {};
      Object.keys(trace).forEach(function (key) {
        if (MOVING.indexOf(key) < 0) rest[key] = trace[key];
      });
      return rest;
    });
    return JSON.stringify([layout, traces]);
  }

  // A phone's figure is some 350 px wide: dates every few days would overlap each other and
  // a legend beside or just under the plot; labels of horizontal bars would leave the bars
  // no room. The figure keeps its content; only its frame is fitted.
  const NARROW = 560;

  function fitted(canvas, layout) {
    const width = canvas.getBoundingClientRect().width || canvas.parentElement.clientWidth;
    if (!width || width >= NARROW) return layout;
    const narrow = Object.assign({}, layout);
    Object.keys(narrow).forEach(function (key) {
      if (/^xaxis\d*$/.test(key) && narrow[key]) {
        narrow[key] = Object.assign({}, narrow[key], { nticks: 4, tickangle: 0 });
      }
    });
    if (narrow.showlegend !== false) {
      narrow.legend = Object.assign({}, narrow.legend, {
        orientation: "h", x: 0, xanchor: "left", y: -0.22, yanchor: "top",
      });
      narrow.margin = Object.assign({}, narrow.margin, { b: 96 });
      narrow.height = (narrow.height || 340) + 60;
    }
    // A title longer than the phone is wide is cut at the figure's edge: wrap it at spaces,
    // and give the plot's top the room the extra lines take.
    const heading = narrow.title && (narrow.title.text || narrow.title);
    const fits = Math.floor(width / 9);
    if (typeof heading === "string" && heading.length > fits && heading.indexOf("<br>") < 0) {
      const lines = [""];
      heading.split(" ").forEach(function (word) {
        const last = lines[lines.length - 1];
        if (last && (last + " " + word).length > fits) lines.push(word);
        else lines[lines.length - 1] = last ? last + " " + word : word;
      });
      const extra = 20 * (lines.length - 1);
      narrow.title = Object.assign({}, typeof narrow.title === "object" ? narrow.title : {}, {
        text: lines.join("<br>"),
      });
      const top = (narrow.margin && narrow.margin.t !== undefined ? narrow.margin.t : 100) + extra;
      narrow.margin = Object.assign({}, narrow.margin, { t: top });
      narrow.height = (narrow.height || 340) + extra;
    }
    const horizontal = (canvas.__data || []).some(function (t) { return t.orientation === "h"; });
    if (horizontal) {
      narrow.yaxis = Object.assign({}, narrow.yaxis, { tickfont: { size: 10 } });
      narrow.margin = Object.assign({}, narrow.margin, { l: 8 });
    }
    return narrow;
  }

  function plot(canvas, figure) {
    canvas.__data = figure.data;
    const layout = fitted(canvas, Object.assign({ autosize: true }, figure.layout));
    canvas.__frame = frameOf(figure);
    canvas.__shapes = JSON.stringify(figure.layout.shapes || []);
    return window.Plotly.newPlot(canvas, figure.data, layout, config).then(function () {
      canvas.closest("figure").classList.add("is-drawn");
    });
  }

  function panels(layout) {
    return Object.keys(layout).filter(function (key) { return /^xaxis\d*$/.test(key); }).length;
  }

  // Trace types Plotly.animate can move (the rest it would have to redraw anyway).
  const ANIMATABLE = ["scatter", "bar"];

  // Redraw a figure in place. When only the numbers of a figure of many panels moved (small
  // multiples: same panels, same axes, new curves), Plotly.animate with no transition moves
  // the traces without redrawing axes, titles or the DOM around them: several times cheaper
  // than Plotly.react, which redraws every axis. A figure of one or two panels is cheaper
  // with react (animate waits a frame), unless ``together``: other figures redrawn in the
  // same go animate anyway, so this one's moving costs no frame of its own, and its react
  // would lengthen the frame in which theirs start (measured on the what-if page: the
  // answer's bars by react pushed the last graph a frame later, 38-44 ms against 33 ms).
  // Anything whose frame changed, or that animate cannot move, goes through react.
  function update(figureEl, figure, together) {
    const canvas = figureEl.querySelector("[data-plot-canvas]");
    figureEl.hidden = false;
    if (!canvas.data) return plot(canvas, figure);
    const frame = frameOf(figure);
    const shapes = JSON.stringify(figure.layout.shapes || []);
    const movable = figure.data.every(function (t) {
      return ANIMATABLE.indexOf(t.type || "scatter") >= 0;
    });
    const layout = fitted(canvas, Object.assign({ autosize: true }, figure.layout));
    if (
      frame !== canvas.__frame ||
      !movable ||
      (panels(figure.layout) < 4 && !together) ||
      figure.data.length !== canvas.data.length ||
      // Plotly's own resize (a window resized, a phone turned) drops the figure's height for
      // the box's: only react gives it back.
      (canvas.layout && canvas.layout.height !== layout.height)
    ) {
      canvas.__frame = frame;
      canvas.__shapes = shapes;
      canvas.__data = figure.data;
      return window.Plotly.react(canvas, figure.data, layout, config);
    }
    const moved = figure.data.map(function (trace) {
      const numbers = {};
      MOVING.forEach(function (key) { if (key in trace) numbers[key] = trace[key]; });
      return numbers;
    });
    const traces = moved.map(function (_, i) { return i; });
    return window.Plotly.animate(
      canvas,
      { data: moved, traces: traces },
      { transition: { duration: 0 }, frame: { duration: 0, redraw: false } }
    ).then(function () {
      if (shapes === canvas.__shapes) return undefined;
      canvas.__shapes = shapes;
      return window.Plotly.relayout(canvas, { shapes: figure.layout.shapes || [] });
    });
  }

  // Empty a figure that has nothing to show now (e.g. the heatmap once its inputs are unset).
  function clear(figureEl) {
    const canvas = figureEl.querySelector("[data-plot-canvas]");
    if (canvas.data && window.Plotly) window.Plotly.purge(canvas);
    figureEl.classList.remove("is-drawn");
    figureEl.hidden = true;
  }

  function drawAll(root) {
    (root || document).querySelectorAll("script[data-plotly]").forEach(draw);
  }

  window.PortalPlots = { update: update, clear: clear };

  document.addEventListener("DOMContentLoaded", function () {
    drawAll(document);
  });
  // After any swap, look at the whole page: an outerHTML swap's event target is the element
  // that was replaced, no longer in the document. Figures already drawn are skipped.
  document.addEventListener("htmx:afterSettle", function () {
    drawAll(document);
  });
})();
