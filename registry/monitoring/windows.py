"""Periods of stored answers and the traffic figures of each window of one.

Both the monitoring page and the daily rollup read traffic through :func:`windows_read`, by
the same queries, so a page reading the rollup shows what reading the answers would.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import CharField, Count, Func, Q, QuerySet, Sum
from django.utils import timezone

from registry.interface import echo
from registry.models import ModelVersion, Prediction, Source
from registry.monitoring.stats import (
    DEFAULT_DAYS,
    DEFAULT_SOURCES,
    MAX_DRIFT_WINDOWS,
    latency_percentiles,
)


# ---------------------------------------------------------------- reading stored answers
class _Window(Func):
    """The UTC day (``YYYY-MM-DD``) or hour (``YYYY-MM-DDTHH``) of a timestamp, as text.

    On SQLite Django's own Trunc* call a Python function per row (over a second for a million
    rows); the stored text's prefix is the same answer from SQLite itself.
    """

    output_field = CharField()

    def __init__(self, expression: str, *, hourly: bool):
        super().__init__(expression)
        self.hourly = hourly

    def as_sqlite(self, compiler, conn, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        if self.hourly:
            return f"(substr({sql}, 1, 10) || 'T' || substr({sql}, 12, 2))", params
        return f"substr({sql}, 1, 10)", params

    def as_sql(self, compiler, conn, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        pattern = 'YYYY-MM-DD"T"HH24' if self.hourly else "YYYY-MM-DD"
        return f"to_char({sql} AT TIME ZONE 'UTC', '{pattern}')", params


@dataclass
class Period:
    """What a monitoring question covers: a time span, sources and an optional segment."""

    since: dt.datetime
    until: dt.datetime
    sources: tuple[str, ...] = DEFAULT_SOURCES
    segment: tuple[str, str] | None = None
    # Windows of a day whatever the length (the rollup sums single days).
    daily: bool = False

    @property
    def hourly(self) -> bool:
        return not self.daily and self.until - self.since <= dt.timedelta(days=2)

    def windows(self) -> list[str]:
        """The UTC day or hour keys of the period, in order."""
        step = dt.timedelta(hours=1) if self.hourly else dt.timedelta(days=1)
        utc = dt.UTC
        start = self.since.astimezone(utc)
        start = (
            start.replace(minute=0, second=0, microsecond=0)
            if self.hourly
            else start.replace(hour=0, minute=0, second=0, microsecond=0)
        )
        keys, moment = [], start
        while moment < self.until:
            keys.append(moment.strftime("%Y-%m-%dT%H" if self.hourly else "%Y-%m-%d"))
            moment += step
        return keys

    def window_start(self, key: str) -> dt.datetime:
        fmt = "%Y-%m-%dT%H" if self.hourly else "%Y-%m-%d"
        return dt.datetime.strptime(key, fmt).replace(tzinfo=dt.UTC)

    @property
    def window_length(self) -> dt.timedelta:
        return dt.timedelta(hours=1) if self.hourly else dt.timedelta(days=1)


def period_parse(
    *,
    version: ModelVersion,
    since: str | None = None,
    until: str | None = None,
    sources: Sequence[str] | None = None,
    segment: str | None = None,
    now: dt.datetime | None = None,
) -> Period:
    """A :class:`Period` from query text, refusing bad values with the field named.

    ``since``/``until`` are ISO dates or times (default: the last 30 days); ``sources`` any of
    page, api, batch (default api and batch); ``segment`` is ``input:value`` on a category
    input, the value one of its choices.
    """
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    end = _parse_moment(until, "until", errors, end=True) or now
    start = _parse_moment(since, "since", errors)
    if start is None:
        try:
            # Today and the 29 days before, from midnight UTC: whole days, so every window
            # but the current one is over and its traffic figures can be kept.
            start = (end - dt.timedelta(days=DEFAULT_DAYS - 1)).astimezone(dt.UTC)
            start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        except OverflowError:
            errors["until"] = ["Choose an 'until' after the year 1."]
    for moment, name in ((start, "since"), (end, "until")):
        if not errors and not 1970 <= moment.year <= 9000:
            errors[name] = ["Choose a time between the years 1970 and 9000."]
    if not errors and start >= end:
        errors["since"] = ["'since' must come before 'until'."]
    if not errors and end - start > dt.timedelta(days=366):
        errors["since"] = ["Choose a period of at most 366 days."]
    chosen = tuple(dict.fromkeys(s for s in (sources or []) if s)) or DEFAULT_SOURCES
    unknown = [s for s in chosen if s not in Source.values]
    if unknown:
        errors["source"] = [f"Unknown source {echo(unknown[0])}: use {', '.join(Source.values)}."]
    parsed_segment = None
    if segment:
        name, colon, value = segment.partition(":")
        spec = next((i for i in version.interface["inputs"] if i["name"] == name), None)
        if not colon or spec is None or spec.get("type") != "category":
            errors["segment"] = ["Give a segment as input:value on a category input."]
        elif value not in [str(c) for c in spec.get("choices", [])]:
            errors["segment"] = [f"'{value[:60]}' is not one of the choices of {name}."]
        else:
            parsed_segment = (name, value)
    if errors:
        raise ValidationError(errors)
    return Period(since=start, until=end, sources=chosen, segment=parsed_segment)


def _parse_moment(
    raw: str | None, field: str, errors: dict[str, list[str]], *, end: bool = False
) -> dt.datetime | None:
    if not raw:
        return None
    text = raw.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            # An end date includes that whole day.
            return moment + dt.timedelta(days=1) if end else moment
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        errors[field] = [f"'{text[:40]}' is not an ISO date or time (e.g. 2026-11-01)."]
        return None
    except OverflowError:
        errors[field] = [f"'{text[:40]}' is out of range."]
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def period_answers(version: ModelVersion, period: Period) -> QuerySet[Prediction]:
    return Prediction.objects.filter(
        version=version,
        created_at__gte=period.since,
        created_at__lt=period.until,
        source__in=period.sources,
    )


def window_cache_key(version: ModelVersion, period: Period, key: str) -> str:
    # The creation time too: a primary key can come back after a rollback.
    stamp = version.created_at.timestamp()
    return f"monitoring-window:{version.pk}:{stamp}:{','.join(sorted(period.sources))}:{key}"


def windows_read(version: ModelVersion, period: Period, keys: list[str]) -> dict[str, dict]:
    """Aggregates and p95 latency of the given windows, in two queries."""
    spans: list[list[dt.datetime]] = []
    for key in keys:  # contiguous windows make one time range
        start = max(period.since, period.window_start(key))
        end = min(period.until, period.window_start(key) + period.window_length)
        if spans and spans[-1][1] == start:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    ranges = Q()
    for start, end in spans:
        ranges |= Q(created_at__gte=start, created_at__lt=end)
    answers = period_answers(version, period).filter(ranges)
    found = {k: {"answers": 0, "rows": 0, "timed": 0, "by_source": {}} for k in keys}
    aggregate = (
        answers.annotate(w=_Window("created_at", hourly=period.hourly))
        .values_list("w", "source")
        # COUNT(*), not COUNT(id): the id is not in the covering index.
        .annotate(n=Count("*"), r=Sum("row_count"))
        .order_by()
    )
    for window, source, n, r in aggregate:
        slot = found.setdefault(window, {"answers": 0, "rows": 0, "timed": 0, "by_source": {}})
        slot["answers"] += n
        slot["rows"] += r or 0
        slot["by_source"][source] = n
        if source != Source.BATCH:
            slot["timed"] += n
    latencies = period_latencies(answers, None)
    offset = 0
    for key in keys:
        slot = found[key]
        slot["p95_ms"] = latency_percentiles(latencies[offset : offset + slot["timed"]])["p95"]
        offset += slot.pop("timed")
    return found


def timed_key(sources: Iterable[str]) -> str:
    """The key of a set of sources' latencies in ``TrafficDay.p95_ms`` ("" when none is timed:
    a batch job's latency is a whole job's)."""
    return ",".join(sorted(s for s in sources if s != Source.BATCH))


# Each set of timed sources a period can hold, as TrafficDay.p95_ms keys it.
TIMED_SETS = [
    tuple(c)
    for n in (1, 2)
    for c in itertools.combinations(sorted(Source.values), n)
    if Source.BATCH not in c
]


def period_latencies(answers: QuerySet[Prediction], newest: int | None) -> np.ndarray:
    """The latency column of answered calls in time order (of the ``newest`` only, if
    given), read straight from the cursor: a million floats through the ORM's row
    machinery cost several times as much. Batch jobs are left out."""
    calls = answers.exclude(source=Source.BATCH)
    if newest is None:
        query = calls.order_by("created_at").values_list("latency_ms", flat=True)
    else:
        query = calls.order_by("-created_at").values_list("latency_ms", flat=True)[:newest]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return np.fromiter((row[0] for row in cursor.fetchall()), dtype="float64")


def window_spans(period: Period) -> list[tuple[dt.datetime, dt.datetime]]:
    """The periods drift, performance and estimates are computed over: the period's windows,
    grouped so there are at most ``MAX_DRIFT_WINDOWS``."""
    keys = period.windows()
    group = max(1, math.ceil(len(keys) / MAX_DRIFT_WINDOWS))
    spans = []
    for i in range(0, len(keys), group):
        start = max(period.since, period.window_start(keys[i]))
        end = min(period.until, period.window_start(keys[i]) + period.window_length * group)
        spans.append((start, end))
    return spans


def window_results(
    version: ModelVersion, period: Period, kind: str, compute: Any, seconds: int
) -> list[Any]:
    """``compute(start, end)`` for each drift window; a finished window's answer is cached
    for ``seconds`` (only the current window is computed on a warm page)."""
    now = timezone.now()
    spans = window_spans(period)
    segment = ":".join(period.segment) if period.segment else ""
    stamp = version.created_at.timestamp()
    keys = [
        f"monitoring-{kind}:{version.pk}:{stamp}:{','.join(sorted(period.sources))}:"
        f"{segment}:{start.isoformat()}:{end.isoformat()}"
        for start, end in spans
    ]
    cached = caches["monitoring"].get_many(
        [k for k, (_, end) in zip(keys, spans, strict=True) if end <= now]
    )
    found, fresh = [], {}
    for key, (start, end) in zip(keys, spans, strict=True):
        if key not in cached:
            cached[key] = compute(start, end)
            if end <= now:
                fresh[key] = cached[key]
        found.append(cached[key])
    if fresh:
        caches["monitoring"].set_many(fresh, seconds)
    return found
