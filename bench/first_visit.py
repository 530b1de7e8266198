"""Bytes over the wire of a first visit: the login page, then a what-if page, cache empty.

    .venv/bin/python bench/first_visit.py [--models diabetes breast-cancer]

Seeds a throwaway SQLite DATA_DIR with the demo models, collects the static files and starts
gunicorn as bin/run-portal does (DEBUG off: whitenoise serves hashed, compressed files), then
drives Debian's Chromium with Playwright. A fresh browser context with the browser's cache
disabled opens the login page and logs in; another, holding only the session cookie, opens
each what-if page and waits until every figure in its result region is drawn. Counts what
Chromium received for each response (``encodedDataLength`` from the DevTools protocol:
headers and the body as sent, compressed when it was) and prints them, largest first, with
the encoding the server chose. Measures and prints; never asserts.
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from whatif_browser import TIMING, log_in, portal_in_chromium, wait_all_drawn


class Responses:
    """Every response a page received, with its bytes on the wire (DevTools' own count)."""

    def __init__(self, context, page) -> None:
        self.rows: dict[str, dict] = {}
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.loadingFinished", self._finished)

    def _received(self, event) -> None:
        headers = {k.lower(): v for k, v in event["response"]["headers"].items()}
        self.rows[event["requestId"]] = {
            "path": urlsplit(event["response"]["url"]).path,
            "encoding": headers.get("content-encoding", "-"),
            "bytes": 0,
        }

    def _finished(self, event) -> None:
        row = self.rows.setdefault(event["requestId"], {"path": "?", "encoding": "-"})
        row["bytes"] = int(event.get("encodedDataLength", 0))

    def report(self, title: str) -> None:
        rows = sorted(self.rows.values(), key=lambda r: -r["bytes"])
        total = sum(r["bytes"] for r in rows)
        print(f"\n{title}: {total:,} bytes ({total / 1024:,.0f} KB) in {len(rows)} responses")
        for row in rows:
            print(f"  {row['bytes']:>10,}  {row['encoding']:<5} {row['path']}")
        self.rows = {}


def first_visits(browser, base: str, models: list[str]) -> None:
    context = browser.new_context(base_url=base)
    page = context.new_page()
    wire = Responses(context, page)
    page.goto("/accounts/login/")
    page.wait_for_load_state("networkidle")
    wire.report("login page, first visit")
    log_in(page)
    cookies = context.cookies()
    context.close()

    for model in models:
        context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
        context.add_cookies(cookies)
        context.add_init_script(TIMING)
        page = context.new_page()
        wire = Responses(context, page)
        page.goto(f"/models/{model}/whatif/")
        wait_all_drawn(page)
        page.wait_for_load_state("networkidle")
        drawn = page.evaluate("new Set(window.__draws.map((d) => d.id)).size")
        wire.report(f"/models/{model}/whatif/, first visit ({drawn} figures drawn)")
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["diabetes", "breast-cancer"])
    args = parser.parse_args()

    with portal_in_chromium() as (browser, base):
        first_visits(browser, base, args.models)


if __name__ == "__main__":
    sys.exit(main())
