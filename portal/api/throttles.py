"""Per-user rate limits for the calls that run a model (predict, compare, what-if) and for
batch uploads, API and pages alike (pages use them through ``portal.pages.access``).

They count in Django's cache, which settings make shared by every process (Redis, or the
database): with a per-process cache, N workers would let N times the rate through."""

from __future__ import annotations

import time

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class ModelCallThrottle(SimpleRateThrottle):
    """At most ``DEFAULT_THROTTLE_RATES["model_calls"]`` calls per user and window.

    A fixed window counted with one cache increment: DRF's sliding window keeps (and pickles)
    a timestamp per request, thousands of them at the rates a service client runs at.
    """

    scope = "model_calls"

    def __init__(self):
        # Read per request, so a changed setting (or a test's override) takes effect.
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_cache_key(self, request, view) -> str:
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return f"throttle:{self.scope}:{ident}:{int(time.time() // self.duration)}"

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        # Increment first: after a window's first call that is the only step (on the
        # database cache, half the queries of trying add() every time).
        try:
            count = cache.incr(key)
        except ValueError:  # the window's first call (or the key just expired)
            if cache.add(key, 1, self.duration):
                return True
            count = cache.incr(key)  # another process added it between the two
        return count <= self.num_requests

    def wait(self) -> float:
        return self.duration - (time.time() % self.duration)


class BatchUploadThrottle(ModelCallThrottle):
    """At most ``DEFAULT_THROTTLE_RATES["batch_uploads"]`` batch files per user and window."""

    scope = "batch_uploads"
