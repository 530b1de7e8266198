"""Per-user rate limits for the calls that run a model (predict, compare, what-if) and for
batch uploads, API and pages alike (pages use them through ``portal.pages.access``); per
address for embeds; and per user, what calls cost: rows scored a minute and rows stored a day
(:class:`RowBudget`).

They count where every process sees the same number (Redis, or a database row): with a
per-process count, N workers would let N times the rate through."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from rest_framework.exceptions import ErrorDetail, Throttled
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

_UPSERT = (
    "INSERT INTO {table} ({key}, {window}, {count}) VALUES {values}"
    " ON CONFLICT ({key}) DO UPDATE SET"
    " {count} = CASE WHEN {table}.{window} = excluded.{window}"
    " THEN {table}.{count} + excluded.{count} ELSE excluded.{count} END,"
    " {window} = excluded.{window}"
    " RETURNING {key}, {count}"
)


def rate_count(key: str, window: int, duration: int, n: int = 1) -> int:
    """Count ``n`` (one call, or its rows) for ``key`` in fixed window number ``window``; the
    count so far in it."""
    return rate_counts([(key, window, duration, n)])[0]


def rate_counts(charges: list[tuple[str, int, int, int]]) -> list[int]:
    """:func:`rate_count` for several ``(key, window, duration, n)`` at once (distinct keys).

    On Redis (``REDIS_URL``) an atomic increment of a key that expires with its window. Without
    it, one upsert of every key on ``RateCount`` (PostgreSQL and SQLite ≥ 3.35 both have
    ``ON CONFLICT … RETURNING``): atomic, and one statement for all of a call's counts.
    """
    if settings.RATE_COUNTS_IN_CACHE:
        return [_cache_count(*charge) for charge in charges]
    from portal.models import RateCount

    meta = RateCount._meta
    quote = connection.ops.quote_name
    sql = _UPSERT.format(
        table=quote(meta.db_table),
        key=quote(meta.get_field("key").column),
        window=quote(meta.get_field("window").column),
        count=quote(meta.get_field("count").column),
        values=", ".join(["(%s, %s, %s)"] * len(charges)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [v for key, window, _, n in charges for v in (key, window, n)])
        counts = dict(cursor.fetchall())
    return [counts[key] for key, *_ in charges]


def _cache_count(key: str, window: int, duration: int, n: int) -> int:
    windowed = f"{key}:{window}"
    try:
        return cache.incr(windowed, n)
    except ValueError:  # the window's first call (or the key just expired)
        if cache.add(windowed, n, duration):
            return n
        return cache.incr(windowed, n)  # another process added it between the two


def rate_refund(key: str, window: int, n: int) -> None:
    """Give back ``n`` that :func:`rate_count` counted for ``key`` in ``window`` (a call
    refused or failed after it was charged); nothing once the window is over."""
    if settings.RATE_COUNTS_IN_CACHE:
        with contextlib.suppress(ValueError):  # the window is over: its key expired
            cache.decr(f"{key}:{window}", n)
        return
    from portal.models import RateCount

    RateCount.objects.filter(key=key, window=window, count__gte=n).update(count=F("count") - n)


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


class EmbedThrottle(ModelCallThrottle):
    """At most ``DEFAULT_THROTTLE_RATES["embeds"]`` embed views per address and window.

    Per address even after login: an embed is open to anyone holding its link, and a page
    framing it is viewed by people who never log in here."""

    scope = "embeds"

    def get_cache_key(self, request, view) -> str:
        return f"throttle:{self.scope}:{self.get_ident(request)}"


# ------------------------------------------------------------------ what calls cost
class OverBudget(Throttled):
    """A 429 whose message says which limit, how much of it is used and when it frees up."""

    def __init__(self, message: str, wait: float, code: str = "throttled"):
        super().__init__(wait=wait)
        self.detail = ErrorDetail(message, code)
        self.code = code


class QuotaExceeded(OverBudget):
    """The daily quota of stored rows is used up (``quota_exceeded``)."""

    default_code = "quota_exceeded"


def _day_window() -> tuple[int, float]:
    """Today's number (UTC days since the epoch) and the seconds until tomorrow starts."""
    now = time.time()
    return int(now // 86400), 86400 - now % 86400


class RowBudget:
    """Charge a call's cost to its caller before the model runs, in rows, on two budgets:

    - rows scored per window (``DEFAULT_THROTTLE_RATES["model_rows"]``): the model's work, so
      a 60,000-row compare or a counterfactual search is not one call like a one-row predict
      (``ModelCallThrottle`` still counts calls);
    - rows stored per UTC day (``PORTAL["DAILY_STORED_ROWS"]``): what a caller may add to the
      database in a day, whatever the rate.

    Used as ``with RowBudget(user, scored=n, stored=m): …``: over either budget the
    call is refused (:class:`OverBudget`, :class:`QuotaExceeded`) and charged nothing; a call
    that fails inside the block gets its charge back (nothing was stored).
    """

    def __init__(self, user, *, scored: int, stored: int = 0):
        self.user_key = user.pk
        self.scored, self.stored = max(0, scored), max(0, stored)
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get("model_rows")
        self.quota = settings.PORTAL["DAILY_STORED_ROWS"]
        self.charged: list[tuple[str, int, int]] = []

    def refund(self) -> None:
        while self.charged:
            key, window, n = self.charged.pop()
            rate_refund(key, window, n)

    def __enter__(self) -> RowBudget:
        charges, checks = [], []
        if self.rate is not None and self.scored:
            limit, duration = ModelCallThrottle.parse_rate(None, self.rate)
            window = int(time.time() // duration)
            charges.append((f"budget:rows:{self.user_key}", window, duration, self.scored))
            checks.append(self._over_rate(limit, duration))
        if self.quota and self.stored:
            day, wait = _day_window()
            charges.append((f"quota:stored:{self.user_key}", day, 86400, self.stored))
            checks.append(self._over_quota(day, wait))
        # One statement (or one round trip per key) for both, on every model call.
        counts = rate_counts(charges) if charges else []
        self.charged = [(key, window, n) for key, window, _, n in charges]
        for check, count in zip(checks, counts, strict=True):
            refusal = check(count)
            if refusal is not None:
                self.refund()
                raise refusal
        return self

    def _over_rate(self, limit: int, duration: int):
        def check(count: int) -> OverBudget | None:
            if count <= limit:
                return None
            wait = max(1, math.ceil(duration - time.time() % duration))
            return OverBudget(
                f"Too many rows scored: at most {limit:,} per {_period(duration)}, and this "
                f"call would score {self.scored:,} more ({count - self.scored:,} so far). "
                f"Retry in {wait} s, or send fewer rows.",
                wait,
            )

        return check

    def _over_quota(self, day: int, wait: float):
        def check(count: int) -> OverBudget | None:
            if count <= self.quota:
                return None
            resets = dt.datetime.fromtimestamp((day + 1) * 86400, dt.UTC)
            return QuotaExceeded(
                f"Daily quota reached: at most {self.quota:,} stored rows per user a day; "
                f"{count - self.stored:,} stored today and this call would store "
                f"{self.stored:,} more. It resets at {resets:%Y-%m-%d %H:%M} UTC "
                f"(in {_duration(wait)}).",
                wait,
                code="quota_exceeded",
            )

        return check

    def __exit__(self, kind, exc, tb) -> None:
        if exc is not None:
            self.refund()


def rows_sent(rows: object) -> int:
    """Rows a call asks the model to answer, for its budget; 0 for a body that is refused
    before anything runs (not a list, or over the row limit)."""
    if not isinstance(rows, list) or len(rows) > settings.PORTAL["MAX_ROWS_PER_CALL"]:
        return 0
    return len(rows)


def _period(seconds: int) -> str:
    return {1: "second", 60: "minute", 3600: "hour", 86400: "day"}.get(seconds, f"{seconds} s")


def _duration(seconds: float) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
