"""What-if page in a real browser: from an input event to the last graph painted.

    .venv/bin/python bench/whatif_browser.py [--changes 30] [--models diabetes breast-cancer]

Seeds a throwaway SQLite DATA_DIR with the demo models, collects the static files and starts
gunicorn as bin/run-portal does (DEBUG off, so whitenoise serves compressed, hashed files),
then drives Debian's Chromium with Playwright as an analyst would, on the 10-input diabetes
and the 30-input breast-cancer demo models.

Each change moves one slider (inputs taken in turn, alternately to a quarter and three
quarters of its range, snapped to its step) and dispatches the slider's ``input`` event, as
a drag does. The clock starts just before that event and stops when every figure shown in
the result region has finished drawing after it: the promise of every Plotly call made
since (``newPlot``, ``react``, ``animate``, ``relayout``...) has resolved and the next
animation frame has come. "First graph" is the first figure drawn after the event (the
answer's). Changes are made one at a time, each after the previous one settled (no Plotly
call still running). The page's own mechanism is not assumed: whatever the page calls on
``Plotly`` is timed, so the same command measures the page before and after a change to it.

Bytes are what Chromium received over the wire (encoded, via the DevTools protocol): a first
visit with an empty cache, a repeat visit in the same browser, and the redraws. Measures and
prints; never asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp(prefix="model-portal-static-"))
os.environ.setdefault("DEBUG", "0")
from _setup import django_with_demo, free_port, gunicorn_launch

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password"

# Times every Plotly drawing: set as an init script, so it wraps Plotly the moment the
# deferred plotly.min.js assigns window.Plotly, before any page script draws.
TIMING = """
(() => {
  window.__draws = [];
  window.__pending = 0;
  let real, next = 0;
  const ids = new WeakMap();
  function wrap(P) {
    for (const name of ["newPlot", "react", "animate", "relayout", "restyle", "update"]) {
      const original = P[name];
      P[name] = function (gd) {
        window.__pending += 1;
        const promise = original.apply(this, arguments);
        const el = typeof gd === "string" ? document.getElementById(gd) : gd;
        if (!ids.has(el)) ids.set(el, ++next);
        const done = () => requestAnimationFrame(() => {
          window.__draws.push({t: performance.now(), id: ids.get(el), name});
          window.__pending -= 1;
        });
        Promise.resolve(promise).then(done, done);
        return promise;
      };
    }
  }
  Object.defineProperty(window, "Plotly", {
    configurable: true,
    get() { return real; },
    set(value) {
      real = value;
      if (value && !value.__timed) { wrap(value); value.__timed = true; }
    },
  });
})();
"""

# The figures a person sees in the result region (not those behind a closed "show all").
SHOWN = """() => [...document.querySelectorAll("#result figure.plot")]
    .filter((f) => f.offsetParent !== null).length"""

SLIDERS = """[...document.querySelectorAll("#whatif-form input[type=range][data-for]")]"""
CHANGE = f"""([index, fraction]) => {{
  const sliders = {SLIDERS};
  const slider = sliders[index % sliders.length];
  const low = parseFloat(slider.min), high = parseFloat(slider.max);
  // A value its number box accepts too (the page before issue 9 ignored any other), near
  // the fraction asked for; the browser snaps the slider to its step.
  const probe = document.getElementById(slider.dataset.for).cloneNode();
  for (const shift of [0, 0.02, -0.02, 0.05, -0.05, 0.1, -0.1, 0.15, -0.15]) {{
    slider.value = String(low + (high - low) * (fraction + shift));
    probe.value = slider.value;
    if (probe.checkValidity()) break;
  }}
  if (!probe.checkValidity()) return null;  // no value both accept: counted, skipped
  window.__mark = window.__draws.length;
  window.__start = performance.now();
  slider.dispatchEvent(new Event("input", {{bubbles: true}}));
  return slider.dataset.for;
}}"""

SETTLED = """(wanted) => {
  const draws = window.__draws.slice(window.__mark);
  if (new Set(draws.map((d) => d.id)).size < wanted || window.__pending > 0) return null;
  const times = draws.map((d) => d.t);
  // The last response the page asked for since the change (fetch or XHR): where the server's
  // part ends and the browser's drawing begins.
  const asked = performance.getEntriesByType("resource").filter(
    (e) => e.startTime >= window.__start && /whatif/.test(e.name));
  const answered = asked.length ? Math.max(...asked.map((e) => e.responseEnd)) : NaN;
  return {first: Math.min(...times) - window.__start, last: Math.max(...times) - window.__start,
          response: answered - window.__start};
}"""


def start_gunicorn(port: int) -> subprocess.Popen:
    process = gunicorn_launch(workers=2, port=port)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/api/v1/health/")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn did not answer: {process.stderr.read().decode()[-2000:]}")


class Wire:
    """Bytes Chromium received (encoded, as on the wire), counted through DevTools."""

    def __init__(self, context, page) -> None:
        self.total = 0
        self.requests = 0
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.loadingFinished", self._finished)

    def _finished(self, event) -> None:
        self.total += int(event.get("encodedDataLength", 0))
        self.requests += 1

    def take(self) -> tuple[int, int]:
        taken = (self.total, self.requests)
        self.total = self.requests = 0
        return taken


def wait_all_drawn(page) -> None:
    """Wait until every figure shown in the result region has been drawn at least once."""
    page.wait_for_function(
        f"""() => window.__draws && window.__draws.length
            && new Set(window.__draws.map((d) => d.id)).size >= ({SHOWN})()""",
        timeout=30_000,
    )


def log_in(page) -> None:
    """Log in as the benchmark's analyst from the login page."""
    page.fill("#id_username", "bench")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def measure(browser, base: str, model: str, changes: int) -> None:
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
    context.add_init_script(TIMING)
    page = context.new_page()
    page.goto("/accounts/login/")
    log_in(page)
    # Log in again in a fresh context holding only the session cookie: an empty cache.
    cookies = context.cookies()
    context.close()

    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
    context.add_cookies(cookies)
    context.add_init_script(TIMING)
    page = context.new_page()
    wire = Wire(context, page)
    url = f"/models/{model}/whatif/"
    started = time.perf_counter()
    page.goto(url)
    wait_all_drawn(page)
    first_answer = page.evaluate("Math.min(...window.__draws.map((d) => d.t))")
    all_drawn = page.evaluate("Math.max(...window.__draws.map((d) => d.t))")
    wall = (time.perf_counter() - started) * 1000
    page.wait_for_load_state("networkidle")
    first_bytes, first_requests = wire.take()
    inputs = page.locator("#whatif-form input[type=range][data-for]").count()
    fields = page.locator("#whatif-form .field").count()
    height = page.evaluate("document.documentElement.scrollHeight")

    page.goto(url)
    wait_all_drawn(page)
    page.wait_for_load_state("networkidle")
    repeat_bytes, repeat_requests = wire.take()

    shown = page.evaluate(SHOWN)
    firsts, lasts, responses = [], [], []
    refused: set[str] = set()
    i = done = 0
    while done < changes + 3:
        i += 1
        fraction = 0.25 if (i // inputs) % 2 == 0 else 0.75
        if page.evaluate(CHANGE, [i, fraction]) is None:
            refused.add(page.evaluate(f"(i) => {SLIDERS}[i % {inputs}].dataset.for", i))
            if len(refused) == inputs:
                raise SystemExit(f"{model}: no slider can be moved")
            continue
        done += 1
        result = None
        deadline = time.monotonic() + 20
        while result is None and time.monotonic() < deadline:
            result = page.evaluate(SETTLED, page.evaluate(SHOWN))
            if result is None:
                page.wait_for_timeout(5)
        if result is None:
            raise SystemExit(f"{model}: change {i} was never drawn")
        page.wait_for_timeout(150)  # let any late redraw land before the next change
        if done > 3:  # the first few warm the server's caches and the JIT
            firsts.append(result["first"])
            responses.append(result["response"])
            lasts.append(result["last"])
    redraw_bytes, redraw_requests = wire.take()
    context.close()

    def pct(samples: list[float], q: float) -> float:
        ordered = sorted(samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    print(
        f"\n{model}: {fields} inputs ({inputs} with a slider), "
        f"{shown} figure(s) shown in the result region"
    )
    print(
        f"  first visit: answer drawn {first_answer:.0f} ms after navigation start, every "
        f"figure {all_drawn:.0f} ms (wall {wall:.0f} ms); page {height} px tall"
    )
    print(f"  first visit bytes:  {first_bytes:>10,} ({first_requests} responses)")
    print(f"  repeat visit bytes: {repeat_bytes:>10,} ({repeat_requests} responses)")
    print(
        f"  input -> last graph painted, {len(lasts)} changes: p50 {pct(lasts, 0.5):6.0f} ms  "
        f"p95 {pct(lasts, 0.95):6.0f} ms  mean {statistics.fmean(lasts):6.0f}"
    )
    print(
        f"  input -> first graph (answer):   p50 {pct(firsts, 0.5):6.0f} ms  "
        f"p95 {pct(firsts, 0.95):6.0f} ms"
    )
    print(
        f"  input -> response received:      p50 {pct(responses, 0.5):6.0f} ms  "
        f"p95 {pct(responses, 0.95):6.0f} ms  (server and network; the rest is drawing)"
    )
    if refused:
        print(f"  sliders whose values the number box refuses (skipped): {sorted(refused)}")
    print(
        f"  bytes per redraw: {redraw_bytes / max(1, changes + 3):,.0f} "
        f"({redraw_requests} responses over {changes + 3} changes)"
    )


@contextlib.contextmanager
def portal_in_chromium():
    """The demo portal under gunicorn (static files collected, an analyst ``bench`` with
    PASSWORD) and Debian's Chromium: yields the browser and the portal's address."""
    django_with_demo()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from playwright.sync_api import sync_playwright

    call_command("collectstatic", "--noinput", verbosity=0)
    user = User.objects.create_user("bench", password=PASSWORD)
    user.groups.add(Group.objects.get(name="analyst"))

    port = free_port()
    server = start_gunicorn(port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            yield browser, f"http://127.0.0.1:{port}"
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=30)
    parser.add_argument("--models", nargs="+", default=["diabetes", "breast-cancer"])
    args = parser.parse_args()

    with portal_in_chromium() as (browser, base):
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the run")
        for model in args.models:
            measure(browser, base, model, args.changes)
        print(f"\nload average {os.getloadavg()[0]:.2f} after the run")


if __name__ == "__main__":
    sys.exit(main())
