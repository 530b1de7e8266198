"""Where a request's time goes, told to the browser in a ``Server-Timing`` header.

A browser shows the phases beside the request in its developer tools and in the page's
performance timeline (``PerformanceResourceTiming.serverTiming``), so a redraw's time can be
split between the server's phases, the network and the drawing (bench/whatif_browser.py).
Only durations are sent, of the requester's own call.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.http import HttpResponse


class Phases:
    """Milliseconds spent in each named phase of one request, in the order first entered."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            self.spent[name] = self.spent.get(name, 0.0) + elapsed

    def send(self, response: HttpResponse) -> HttpResponse:
        """Add the header to ``response`` (and return it)."""
        if self.spent:
            response["Server-Timing"] = ", ".join(
                f"{name};dur={ms:.1f}" for name, ms in self.spent.items()
            )
        return response
