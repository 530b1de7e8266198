"""What-if and compare pages in a real browser: from an input event to the last graph painted.

    .venv/bin/python bench/whatif_browser.py [--changes 30] [--models diabetes diabetes-risk
        breast-cancer] [--compare diabetes@1,diabetes@2 breast-cancer@1,breast-cancer@2]

Seeds a throwaway SQLite DATA_DIR with the demo models, plus "diabetes-risk": a random forest
classifier (10 inputs, sex a category) trained here on the diabetes rows, and "diabetes-lgbm":
the same outlook from a LightGBM booster (10 number inputs), collects the static
files and starts gunicorn as bin/run-portal does (DEBUG off, so whitenoise serves compressed,
hashed files), then drives Debian's Chromium with Playwright as an analyst would: on each
model's what-if page, then on each comparison (``--compare``, members joined by commas).

Each number change moves one slider (inputs taken in turn, alternately to a quarter and three
quarters of its range, snapped to its step) and dispatches the slider's ``input`` event, as
a drag does. The clock starts just before that event and stops when every figure shown in
the result region has finished drawing after it: the promise of every Plotly call made
since (``newPlot``, ``react``, ``animate``, ``relayout``...) has resolved and the next
animation frame has come. "First graph" is the first figure drawn after the event (the
answer's). Changes are made one at a time, each after the previous one settled (no Plotly
call still running). A category change picks the next choice of a <select> of the form
(inputs taken in turn) and dispatches ``input`` and ``change``, as a person's pick does; it is
timed the same way, on the pages whose form has one. The page's own mechanism is not
assumed: whatever the page calls on ``Plotly`` is timed, so the same command measures the
page before and after a change to it.

Where the time goes: the page's script until the request leaves ("script"), the server's
phases as the view reports them in its ``Server-Timing`` header (the sweep through the model,
the explanation, the figures' data, rendering and encoding), the rest of the round trip
("network": queueing in gunicorn, transfer), and the drawing after the response arrived
("drawing": decoding, Plotly). Each is the median over the changes.

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
        const t0 = performance.now();
        const promise = original.apply(this, arguments);
        const el = typeof gd === "string" ? document.getElementById(gd) : gd;
        if (!ids.has(el)) ids.set(el, ++next);
        const holder = el && el.closest && el.closest("figure");
        const figure = (holder && holder.dataset.figure) || "#" + ids.get(el);
        const done = () => requestAnimationFrame(() => {
          window.__draws.push({t: performance.now(), t0, id: ids.get(el), name, figure});
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

FORM = "document.querySelector('#whatif-form, #compare-form')"
SLIDERS = f"""[...{FORM}.querySelectorAll("input[type=range][data-for]")]"""
SELECTS = f"""[...{FORM}.querySelectorAll("select[name]")]
    .filter((s) => [...s.options].filter((o) => o.value !== "").length > 1)"""
START = """window.__mark = window.__draws.length;
  performance.clearResourceTimings();
  window.__start = performance.now();"""
CHANGE = f"""([index, fraction]) => {{
  const sliders = {SLIDERS};
  const slider = sliders[index % sliders.length];
  const low = parseFloat(slider.min), high = parseFloat(slider.max);
  // A value its number box accepts too (the page before issue 9 ignored any other), near
  // the fraction asked for; the browser snaps the slider to its step.
  const box = document.getElementById(slider.dataset.for);
  const probe = box.cloneNode();
  for (const shift of [0, 0.02, -0.02, 0.05, -0.05, 0.1, -0.1, 0.15, -0.15]) {{
    slider.value = String(low + (high - low) * (fraction + shift));
    probe.value = slider.value;
    if (probe.checkValidity()) break;
  }}
  if (!probe.checkValidity()) return null;  // no value both accept: counted, skipped
  // The value it has already (a 0/1 input snapped back to 0): nothing to redraw, skipped.
  if (box.value !== "" && Number(probe.value) === Number(box.value)) return null;
  {START}
  slider.dispatchEvent(new Event("input", {{bubbles: true}}));
  return slider.dataset.for;
}}"""
# The next real choice of one select (a person's pick fires input, then change).
PICK = f"""([index]) => {{
  const selects = {SELECTS};
  if (!selects.length) return null;
  const select = selects[index % selects.length];
  let next = select.selectedIndex;
  do {{ next = (next + 1) % select.options.length; }} while (select.options[next].value === "");
  select.selectedIndex = next;
  {START}
  select.dispatchEvent(new Event("input", {{bubbles: true}}));
  select.dispatchEvent(new Event("change", {{bubbles: true}}));
  return select.name;
}}"""

SETTLED = """([wanted, path]) => {
  const draws = window.__draws.slice(window.__mark);
  if (new Set(draws.map((d) => d.id)).size < wanted || window.__pending > 0) return null;
  const times = draws.map((d) => d.t);
  // The last response the page asked for since the change (fetch or XHR): where the server's
  // part ends and the browser's drawing begins.
  const asked = performance.getEntriesByType("resource").filter(
    (e) => e.startTime >= window.__start && e.name.includes(path));
  if (!asked.length) return null;
  const last = asked.reduce((a, b) => (b.responseEnd > a.responseEnd ? b : a));
  const server = {};
  for (const t of last.serverTiming || []) server[t.name] = t.duration;
  // Each Plotly call's own time, from the call to the frame after it resolved.
  const calls = draws.map((d) => ({key: d.figure + " " + d.name, ms: d.t - d.t0}));
  return {first: Math.min(...times) - window.__start, last: Math.max(...times) - window.__start,
          response: last.responseEnd - window.__start, sent: last.startTime - window.__start,
          requests: asked.length, server, calls};
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


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed_changes(page, name: str, path: str, make, count: int, warm: int = 3) -> list[dict]:
    """``count`` changes made by ``make(i)`` (None: that one could not be made), each timed
    until every shown figure has been drawn after it; the first ``warm`` are left out."""
    results: list[dict] = []
    refused: set[str] = set()
    i = done = 0
    while done < count + warm:
        i += 1
        made = make(i)
        if made is None:
            refused.add(str(i))
            if len(refused) > 4 * (count + warm):
                raise SystemExit(f"{name}: no change could be made")
            continue
        done += 1
        result = None
        deadline = time.monotonic() + 20
        while result is None and time.monotonic() < deadline:
            result = page.evaluate(SETTLED, [page.evaluate(SHOWN), path])
            if result is None:
                page.wait_for_timeout(5)
        if result is None:
            raise SystemExit(f"{name}: change {i} was never drawn")
        page.wait_for_timeout(150)  # let any late redraw land before the next change
        if done > warm:  # the first few warm the server's caches and the JIT
            results.append(result)
    return results


def report(label: str, results: list[dict]) -> None:
    if not results:
        return
    lasts = [r["last"] for r in results]
    firsts = [r["first"] for r in results]
    print(
        f"  {label}, {len(results)} changes: input -> last graph painted p50 "
        f"{pct(lasts, 0.5):5.0f} ms  p95 {pct(lasts, 0.95):5.0f}  mean "
        f"{statistics.fmean(lasts):5.0f};  first graph p50 {pct(firsts, 0.5):5.0f} ms"
    )
    # Where the time goes (medians of each part, so they need not add up to the p50 exactly).
    phases: dict[str, list[float]] = {}
    for r in results:
        for key, value in r["server"].items():
            phases.setdefault(key, []).append(value)
    server = [sum(r["server"].values()) for r in results]
    network = [
        r["response"] - r["sent"] - sum(r["server"].values())
        for r in results
        if r["response"] == r["response"]  # not NaN
    ]
    parts = [("script", [r["sent"] for r in results])]
    parts += [(f"server:{k}", v) for k, v in phases.items()]
    if not phases:
        parts.append(("server+network", [r["response"] - r["sent"] for r in results]))
    else:
        parts.append(("network", network))
    parts.append(("drawing", [r["last"] - r["response"] for r in results]))
    print(
        "    where it goes (p50 ms): "
        + "  ".join(f"{name} {statistics.median(v):.1f}" for name, v in parts)
        + (f"  (server total {statistics.median(server):.1f})" if phases else "")
    )
    calls: dict[str, list[float]] = {}
    for r in results:
        for call in r["calls"]:
            calls.setdefault(call["key"], []).append(call["ms"])
    print(
        "    drawing, each Plotly call (p50 ms, how often): "
        + "  ".join(f"{k} {statistics.median(v):.1f} ({len(v)})" for k, v in calls.items())
    )
    requests = [r["requests"] for r in results]
    if max(requests) > 1:
        print(f"    requests per change: up to {max(requests)}")


def log_in(page) -> None:
    """Log in as the benchmark's analyst from the login page."""
    page.fill("#id_username", "bench")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def login(browser, base: str) -> list:
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto("/accounts/login/")
    log_in(page)
    cookies = context.cookies()
    context.close()
    return cookies


def measure(browser, base: str, cookies: list, url: str, name: str, changes: int) -> None:
    # A fresh context holding only the session cookie: an empty cache.
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
    context.add_cookies(cookies)
    context.add_init_script(TIMING)
    page = context.new_page()
    wire = Wire(context, page)
    path = url.split("?")[0]
    started = time.perf_counter()
    page.goto(url)
    wait_all_drawn(page)
    first_answer = page.evaluate("Math.min(...window.__draws.map((d) => d.t))")
    all_drawn = page.evaluate("Math.max(...window.__draws.map((d) => d.t))")
    wall = (time.perf_counter() - started) * 1000
    page.wait_for_load_state("networkidle")
    first_bytes, first_requests = wire.take()
    inputs = page.evaluate(f"{SLIDERS}.length")
    selects = page.evaluate(f"{SELECTS}.length")
    fields = page.evaluate(f"{FORM}.querySelectorAll('.field').length")
    height = page.evaluate("document.documentElement.scrollHeight")

    page.goto(url)
    wait_all_drawn(page)
    page.wait_for_load_state("networkidle")
    repeat_bytes, repeat_requests = wire.take()

    shown = page.evaluate(SHOWN)

    def number(i: int):
        fraction = 0.25 if (i // inputs) % 2 == 0 else 0.75
        return page.evaluate(CHANGE, [i, fraction])

    numbers = timed_changes(page, name, path, number, changes)
    redraw_bytes, redraw_requests = wire.take()
    picks = []
    if selects:
        picks = timed_changes(page, name, path, lambda i: page.evaluate(PICK, [i]), changes // 2)
    context.close()

    print(
        f"\n{name}: {fields} inputs ({inputs} with a slider, {selects} select(s)), "
        f"{shown} figure(s) shown in the result region"
    )
    print(
        f"  first visit: answer drawn {first_answer:.0f} ms after navigation start, every "
        f"figure {all_drawn:.0f} ms (wall {wall:.0f} ms); page {height} px tall"
    )
    print(f"  first visit bytes:  {first_bytes:>10,} ({first_requests} responses)")
    print(f"  repeat visit bytes: {repeat_bytes:>10,} ({repeat_requests} responses)")
    report("number change (slider)", numbers)
    report("category change (select)", picks)
    print(
        f"  bytes per number change: {redraw_bytes / max(1, changes + 3):,.0f} "
        f"({redraw_requests} responses over {changes + 3} changes)"
    )


def register_forest() -> None:
    """A random forest classifier with a category among its 10 inputs: whether a diabetes
    patient's disease progresses more than the median a year on, from the demo's rows."""
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from registry.catalog.services import model_version_register
    from registry.demo import diabetes

    demo = diabetes()
    cut = demo.train[demo.target].median()

    def labelled(frame):
        frame = frame.copy()
        frame["outlook"] = (frame.pop(demo.target) > cut).map({True: "worse", False: "milder"})
        return frame.astype({"outlook": object})

    train, reference = labelled(demo.train), labelled(demo.reference)
    X, y = train.drop(columns="outlook"), train["outlook"]
    forest = make_pipeline(
        ColumnTransformer(
            [("sex", OneHotEncoder(handle_unknown="ignore"), ["sex"])], remainder="passthrough"
        ),
        RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0),
    ).fit(X, y)
    model_version_register(
        name="diabetes-risk",
        title="Diabetes outlook (random forest)",
        artifact=sio.dumps(forest),
        reference=reference.to_csv(index=False).encode(),
        target="outlook",
    )


def register_lightgbm() -> None:
    """The same outlook as ``register_forest`` from a LightGBM booster (issue 20): 10 number
    inputs (sex as 1 for male), 100 rounds of 15 leaves, registered as its own text file."""
    import lightgbm

    from registry.catalog.services import model_version_register
    from registry.demo import diabetes

    demo = diabetes()
    cut = demo.train[demo.target].median()

    def numbered(frame):
        frame = frame.copy()
        frame["sex"] = (frame["sex"] == "male").astype("int64")
        frame["outlook"] = (frame.pop(demo.target) > cut).map({True: "worse", False: "milder"})
        return frame.astype({"outlook": object})

    train, reference = numbered(demo.train), numbered(demo.reference)
    X, y = train.drop(columns="outlook"), (train["outlook"] == "worse").astype(int)
    params = {"objective": "binary", "num_leaves": 15, "verbose": -1, "seed": 0}
    booster = lightgbm.train(params, lightgbm.Dataset(X, y), num_boost_round=100)
    model_version_register(
        name="diabetes-lgbm",
        title="Diabetes outlook (LightGBM)",
        artifact=booster.model_to_string().encode(),
        reference=reference.to_csv(index=False).encode(),
        target="outlook",
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
    # Before Playwright starts: its event loop makes Django refuse synchronous queries.
    register_forest()
    register_lightgbm()

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
    parser.add_argument(
        "--models", nargs="*", default=["diabetes", "diabetes-risk", "breast-cancer"]
    )
    parser.add_argument(
        "--compare", nargs="*", default=["diabetes@1,diabetes@2", "breast-cancer@1,breast-cancer@2"]
    )
    args = parser.parse_args()

    with portal_in_chromium() as (browser, base):
        from urllib.parse import urlencode

        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the run")
        cookies = login(browser, base)
        for model in args.models:
            measure(browser, base, cookies, f"/models/{model}/whatif/", model, args.changes)
        for members in args.compare:
            specs = members.split(",")
            url = f"/compare/?{urlencode([('m', s) for s in specs])}"
            measure(browser, base, cookies, url, f"compare {members}", args.changes)
        print(f"\nload average {os.getloadavg()[0]:.2f} after the run")


if __name__ == "__main__":
    sys.exit(main())
