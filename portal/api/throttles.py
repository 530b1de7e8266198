"""Per-user rate limits for the calls that run a model (predict, compare, what-if) and for
batch uploads, API and pages alike (pages use them through ``portal.pages.access``).

They count where every process sees the same number (Redis, or a database row): with a
per-process count, N workers would let N times the rate through."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

_UPSERT = (
    "INSERT INTO {table} ({key}, {window}, {count}) VALUES (%s, %s, 1)"
    " ON CONFLICT ({key}) DO UPDATE SET"
    " {count} = CASE WHEN {table}.{window} = excluded.{window}"
    " THEN {table}.{count} + 1 ELSE 1 END,"
    " {window} = excluded.{window}"
    " RETURNING {count}"
)


def rate_count(key: str, window: int, duration: int) -> int:
    """Count one call of ``key`` in fixed window number ``window``; the calls so far in it.

    On Redis (``REDIS_URL``) an atomic increment of a key that expires with its window. Without
    it, one upsert on ``RateCount`` (PostgreSQL and SQLite ≥ 3.35 both have ``ON CONFLICT …
    RETURNING``): atomic, and one statement per call on the hot path of every prediction.
    """
    if settings.RATE_COUNTS_IN_CACHE:
        windowed = f"{key}:{window}"
        try:
            return cache.incr(windowed)
        except ValueError:  # the window's first call (or the key just expired)
            if cache.add(windowed, 1, duration):
                return 1
            return cache.incr(windowed)  # another process added it between the two
    from portal.models import RateCount

    meta = RateCount._meta
    quote = connection.ops.quote_name
    sql = _UPSERT.format(
        table=quote(meta.db_table),
        key=quote(meta.get_field("key").column),
        window=quote(meta.get_field("window").column),
        count=quote(meta.get_field("count").column),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, window])
        return cursor.fetchone()[0]


class ModelCallThrottle(SimpleRateThrottle):
    """At most ``DEFAULT_THROTTLE_RATES["model_calls"]`` calls per user and window.

    A fixed window counted with one increment (:func:`rate_count`): DRF's sliding window keeps
    (and pickles) a timestamp per request, thousands of them at the rates a service client
    runs at.
    """

    scope = "model_calls"

    def __init__(self):
        # Read per request, so a changed setting (or a test's override) takes effect.
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_cache_key(self, request, view) -> str:
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return f"throttle:{self.scope}:{ident}"

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        window = int(time.time() // self.duration)
        return rate_count(self.get_cache_key(request, view), window, self.duration) <= (
            self.num_requests
        )

    def wait(self) -> float:
        return self.duration - (time.time() % self.duration)


class BatchUploadThrottle(ModelCallThrottle):
    """At most ``DEFAULT_THROTTLE_RATES["batch_uploads"]`` batch files per user and window."""

    scope = "batch_uploads"
