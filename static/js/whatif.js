// The what-if form (and the compare form, which shares its inputs): each number has a box
// and a slider that move together. Only the box has a name, so the form (and the shareable
// URL) carries one value per input.
//
// On a live page (the what-if and the compare page: [data-whatif] holding a form[data-live])
// every change is sent at once, as JSON from the same view (format=json): at most one request
// is in flight, and while it is, only the newest inputs wait. The answer is painted first, then each figure is updated in place
// (PortalPlots.update). Until the answer on screen is the answer to the inputs on screen, it is
// marked stale; inputs that cannot be answered say why, next to themselves, at once.
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
      if (slider && el.value !== "" && el.validity.valid) slider.value = el.value;
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

  // ---------------------------------------------------------------- the live pages
  const page = document.querySelector("[data-whatif]");
  const form = page && page.querySelector("form[data-live]");
  if (!form) return;

  const answerBox = page.querySelector("[data-answer-box]");
  const answerBar = page.querySelector("[data-answer-bar]");
  const reason = page.querySelector("[data-stale-reason]");
  const saveValues = page.querySelector("[data-save-values]");
  let inFlight = false;
  let waiting = false; // a change came while a request was in flight
  let shownQuery = null; // the inputs the answer on screen answers

  function columns() {
    const width = document.getElementById("result").clientWidth;
    return width < 480 ? 1 : width < 720 ? 2 : 3;
  }

  function query() {
    const params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (typeof value === "string") params.append(key, value);
    });
    return params.toString();
  }

  function setState(state, why) {
    page.dataset.state = state;
    if (reason) reason.textContent = why ? ": " + why : "";
  }

  // What the browser already knows cannot be answered: no round trip needed to say so.
  function localProblem(box) {
    if (box.validity.badInput) return "Enter a number.";
    if (box.validity.rangeUnderflow) return "Must be at least " + box.min + ".";
    if (box.validity.rangeOverflow) return "Must be at most " + box.max + ".";
    return "";
  }

  function note(name, kind, text) {
    const el = document.getElementById(kind + "-" + name);
    if (el && el.textContent !== text) el.textContent = text;
  }

  function checkLocally() {
    let problems = 0;
    form.querySelectorAll("input[type=number][name]").forEach(function (box) {
      const problem = localProblem(box);
      if (problem) {
        problems += 1;
        note(box.name, "err", problem);
        box.setAttribute("aria-invalid", "true");
      } else if (box.dataset.localError) {
        note(box.name, "err", "");
      }
      if (problem) box.dataset.localError = "1";
      else delete box.dataset.localError;
    });
    return problems;
  }

  function changed() {
    const current = query();
    history.replaceState(null, "", form.action + "?" + current);
    if (checkLocally()) {
      setState("invalid", "see the input marked in red");
      return;
    }
    if (inFlight) {
      // Asked again once the answer under way is in (unless it is for these very inputs).
      waiting = true;
      setState("stale", "");
      return;
    }
    if (current === shownQuery) {
      setState("fresh");
      return;
    }
    setState("stale", "");
    send(current);
  }

  // data-busy is on the page while a request or a redraw is under way (tests wait on it).
  let painting = 0;
  let received = 0; // answers received so far
  let redrawn = Promise.resolve(); // the redraws, chained
  function settle() {
    if (inFlight || painting) page.dataset.busy = "true";
    else delete page.dataset.busy;
  }

  function send(sent) {
    inFlight = true;
    waiting = false;
    settle();
    const url = form.action + "?" + sent + "&format=json&columns=" + columns();
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("The server answered " + response.status + ".");
        return response.json();
      })
      .then(function (body) {
        inFlight = false;
        // Newer inputs waited: ask for them now, and paint this answer (marked stale) while
        // the server works on theirs.
        const newest = query();
        if (waiting && newest !== sent && !checkLocally()) send(newest);
        // One redraw at a time, in order; one overtaken by a newer answer is skipped.
        const mine = ++received;
        painting += 1;
        redrawn = redrawn.then(function () {
          return mine === received ? paint(body, sent) : undefined;
        }).catch(function (error) {
          setState("invalid", "the answer could not be drawn (" + error.message + ")");
        }).finally(function () {
          painting -= 1;
          settle();
        });
        return redrawn;
      })
      .catch(function (error) {
        inFlight = false;
        settle();
        setState("invalid", "no answer came back (" + error.message + ")");
      });
  }

  function paint(body, sent) {
    body.fields && Object.keys(body.fields).forEach(function (name) {
      const box = document.getElementById("in-" + name);
      note(name, "warn", body.fields[name].warning);
      if (box && box.dataset.localError) return; // the browser's own reason stays
      note(name, "err", body.fields[name].error);
      if (box) {
        if (body.fields[name].error) box.setAttribute("aria-invalid", "true");
        else box.removeAttribute("aria-invalid");
      }
    });
    if (!body.answered) {
      answerBox.innerHTML = body.answer;
      const marked = Object.keys(body.fields || {}).some(function (name) {
        return body.fields[name].error;
      });
      const why = marked ? "see the input marked in red" : "the model could not answer them";
      if (sent === query()) setState("invalid", why);
      return Promise.resolve();
    }
    answerBox.innerHTML = body.answer;
    const number = answerBox.querySelector("[data-answer]");
    if (answerBar && number) answerBar.textContent = number.textContent.replace(/\s+/g, " ").trim();
    shownQuery = sent;
    const current = query();
    if (sent === current) setState("fresh");
    else if (page.dataset.state !== "invalid") setState("stale", "");
    page.querySelectorAll("[data-needs-answer]").forEach(function (el) { el.hidden = false; });
    if (saveValues) {
      saveValues.replaceChildren.apply(saveValues, body.save.map(function (pairOf) {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = pairOf[0];
        input.value = pairOf[1];
        return input;
      }));
    }
    page.dataset.columns = String(columns());
    // Every figure in one go: the small multiples' animation draws in the next frame, so the
    // answer's bars move in that same animation when they can (``together``), and the browser
    // paints them together. (An answer painted a frame ahead of the rest cost the last graph
    // that frame; one redrawn by react before the animation started could too.)
    const keys = Object.keys(body.figures);
    function redraw(key) {
      const figureEl = page.querySelector('figure[data-figure="' + key + '"]');
      if (!figureEl || !window.PortalPlots) return Promise.resolve();
      const figure = body.figures[key];
      if (!figure) return window.PortalPlots.clear(figureEl);
      return window.PortalPlots.update(figureEl, figure, true);
    }
    if (!keys.length) return Promise.resolve();
    return Promise.all(keys.map(redraw));
  }

  // Every control of the form, including the selects beside the figures that belong to it
  // (form="whatif-form" on the what-if page). A slider is left out: it passes its value on
  // to its box, whose own input event follows.
  document.addEventListener("input", function (event) {
    if (event.target.form === form && event.target.type !== "range") changed();
  });

  document.addEventListener("DOMContentLoaded", function () {
    shownQuery = page.dataset.state === "fresh" ? query() : null;
    // A narrower page than the server assumed draws the small multiples in fewer columns.
    if (String(columns()) !== page.dataset.columns && shownQuery !== null) {
      send(shownQuery);
    }
  });
  let resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      if (String(columns()) !== page.dataset.columns && shownQuery === query() && !inFlight) {
        send(shownQuery);
      }
    }, 200);
  });
})();
