"""Monitoring: how a version is used, and whether what it is asked still looks like the data
it was trained for.

Two halves. The statistics at the top are pure (arrays in, numbers out) so the seeded power
and false-alarm tests run them thousands of times without a database. The readers below them
turn stored answers into those arrays with bounded queries:

- traffic comes from SQL aggregates over a covering index (version, created_at, source,
  latency, rows), so it costs one index range scan whatever the size of the rows' JSON;
- latency percentiles are exact (numpy's, on the same rows): the latency column alone is
  fetched, in time order, and split into windows by the aggregate's counts;
- drift, output drift and performance read a bounded sample of the newest rows
  (``SAMPLE_ROWS``), never the whole table.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import CharField, Count, Func, Q, QuerySet, Sum
from django.utils import timezone
from scipy import stats

from registry.interface import Interface, echo
from registry.models import ModelVersion, Prediction, Source, TrafficDay, Usage

# Below 100 rows the answer is "not enough data", never "drift". Why 100: against a
# 500-row reference, the combined test below finds a 0.3 SD mean shift in about 2 of 3
# windows of 100 rows but only 2 of 5 windows of 50 (so a quiet small window says nothing),
# and the chi-square approximation wants about five expected rows per cell, which a
# category holding 5% of the rows reaches at 100.
MIN_ROWS = 100
MIN_REFERENCE_ROWS = 30
# False discovery rate across inputs (Benjamini-Hochberg).
ALPHA = 0.05
# The newest stored rows that drift, output drift and performance read.
SAMPLE_ROWS = 5000
# Rows read per window for drift over time, and the most windows drawn.
WINDOW_ROWS = 300
MAX_DRIFT_WINDOWS = 15
# A category holding fewer expected rows than this in either sample is merged into "other".
RARE_EXPECTED = 5
BOOTSTRAP_RESAMPLES = 1000
DEFAULT_SOURCES = (Source.API.value, Source.BATCH.value)
DEFAULT_DAYS = 30
STATUS_SECONDS = 300
# A window that is over never changes: its traffic figures are kept this long.
WINDOW_SECONDS = 24 * 3600
# The period's latency percentiles are numpy's on the newest calls, at most this many.
LATENCY_ROWS = 50_000
# A UTC day is summed into TrafficDay once it has been over this long: a call stamped just
# before midnight may still be committing just after it.
ROLLUP_SETTLE = dt.timedelta(minutes=15)
# Days summed per read when filling: each read holds the latencies of that many days.
ROLLUP_CHUNK_DAYS = 3
# How far back a version's first fill goes (the longest period a page can ask for).
ROLLUP_MAX_DAYS = 367
OTHER = "(other)"
TESTED_TYPES = ("number", "integer", "category", "boolean")


# ---------------------------------------------------------------- statistics (pure)
def _finite(values: Iterable[Any]) -> np.ndarray:
    array = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(
        dtype="float64"
    )
    return array[np.isfinite(array)]


def numeric_drift(reference: Sequence[float], current: Sequence[float]) -> dict[str, Any]:
    """Two-sample test of a number: Kolmogorov-Smirnov and Welch's t, Bonferroni over the pair.

    KS sees any change of shape; Welch's t is the more powerful for the commonest drift, a
    moved mean (with 500 vs 300 rows it finds a 0.3 SD shift in ~97% of samples where KS
    alone finds ~92%). Taking twice the smaller p keeps the false-alarm rate at or below
    the level. The effect is the mean's move in reference standard deviations.
    """
    ref, cur = _finite(reference), _finite(current)
    if len(ref) < 2 or len(cur) < 2:
        return {"test": "ks+t", "statistic": None, "p_value": None, "effect": None}
    ks = stats.ks_2samp(ref, cur)
    sd = float(np.std(ref, ddof=1))
    t_p = _welch_p(ref, cur)
    p = min(1.0, 2 * min(float(ks.pvalue), t_p))
    moved = float(np.mean(cur) - np.mean(ref))
    # A constant reference has no SD to measure by: the effect is then left unstated.
    effect = moved / sd if sd > 0 else (0.0 if moved == 0 else None)
    return {"test": "ks+t", "statistic": float(ks.statistic), "p_value": p, "effect": effect}


def _welch_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p of Welch's t-test (scipy's ttest_ind warns on near-constant data)."""
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    moved = float(np.mean(b) - np.mean(a))
    if va + vb == 0:
        return 1.0 if moved == 0 else 0.0
    t = moved / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return float(2 * stats.t.sf(abs(t), df))


def category_drift(reference: Sequence[Any], current: Sequence[Any]) -> dict[str, Any]:
    """Chi-square test of a category's mix, rare categories merged; unseen ones named.

    A category expected to hold fewer than ``RARE_EXPECTED`` rows in either sample is merged
    into one "other" cell, which keeps the chi-square approximation honest. The effect is
    Cramér's V (0: same mix, 1: disjoint). ``unseen`` lists the values in the current rows
    that the reference never shows.
    """
    ref = pd.Series([str(v) for v in reference if v is not None], dtype=object)
    cur = pd.Series([str(v) for v in current if v is not None], dtype=object)
    unseen = sorted(set(cur) - set(ref))
    if ref.empty or cur.empty:
        return {
            "test": "chi2",
            "statistic": None,
            "p_value": None,
            "effect": None,
            "unseen": unseen,
        }
    table = pd.DataFrame({"reference": ref.value_counts(), "current": cur.value_counts()}).fillna(0)
    share = table.sum(axis=1) / table.to_numpy().sum()
    expected_min = np.outer(share, [len(ref), len(cur)]).min(axis=1)
    rare = expected_min < RARE_EXPECTED
    if rare.any():
        merged = table[~rare]
        merged.loc[OTHER] = table[rare].sum()
        table = merged
    table = table[table.sum(axis=1) > 0]
    if len(table) < 2:
        return {"test": "chi2", "statistic": 0.0, "p_value": 1.0, "effect": 0.0, "unseen": unseen}
    result = stats.chi2_contingency(table.to_numpy().T, correction=False)
    n = len(ref) + len(cur)
    cramers_v = math.sqrt(result.statistic / n)  # a 2-row table: min(rows, cols) - 1 = 1
    return {
        "test": "chi2",
        "statistic": float(result.statistic),
        "p_value": float(result.pvalue),
        "effect": cramers_v,
        "unseen": unseen,
    }


def boolean_drift(reference: Sequence[Any], current: Sequence[Any]) -> dict[str, Any]:
    """Two-proportion z-test of the share of true; the effect is Cohen's h."""
    ref = np.array([bool(v) for v in reference if v is not None])
    cur = np.array([bool(v) for v in current if v is not None])
    if len(ref) == 0 or len(cur) == 0:
        return {"test": "proportion", "statistic": None, "p_value": None, "effect": None}
    p1, p2 = ref.mean(), cur.mean()
    pooled = (ref.sum() + cur.sum()) / (len(ref) + len(cur))
    se = math.sqrt(pooled * (1 - pooled) * (1 / len(ref) + 1 / len(cur)))
    z = 0.0 if se == 0 else (p2 - p1) / se
    p = float(2 * stats.norm.sf(abs(z))) if se else (1.0 if p1 == p2 else 0.0)
    h = 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))
    return {"test": "proportion", "statistic": float(z), "p_value": p, "effect": float(h)}


def fdr_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (``None`` stays ``None``: an untested input)."""
    tested = [i for i, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    if tested:
        values = stats.false_discovery_control([p_values[i] for i in tested], method="bh")
        for i, value in zip(tested, values, strict=True):
            adjusted[i] = float(value)
    return adjusted


def _column(rows: Sequence[Mapping[str, Any]], name: str) -> list[Any]:
    return [row.get(name) for row in rows]


def input_drift(
    *,
    interface: Interface,
    reference: Sequence[Mapping[str, Any]],
    current: Sequence[Mapping[str, Any]],
    min_rows: int = MIN_ROWS,
    alpha: float = ALPHA,
) -> dict[str, Any]:
    """Each input of ``current`` rows against ``reference`` rows, adjusted across inputs.

    Returns ``{"status", "rows", "min_rows", "inputs": [...]}``: the inputs sorted with the
    drifted first (smallest adjusted p first), each with its test, statistic, p-value,
    adjusted p-value, effect size and ``drifted``. Fewer than ``min_rows`` current rows (or
    ``MIN_REFERENCE_ROWS`` reference rows) give ``not_enough_data``: no input is drifted.
    Text and date inputs are not tested.
    """
    fields = [f for f in interface.fields if f.type in TESTED_TYPES]
    results = []
    for field_ in fields:
        ref, cur = _column(reference, field_.name), _column(current, field_.name)
        if field_.type in ("number", "integer"):
            found = numeric_drift(ref, cur)
        elif field_.type == "category":
            found = category_drift(ref, cur)
        else:
            found = boolean_drift(ref, cur)
        results.append({"input": field_.name, "type": field_.type, **found})
    # A version registered without reference data, or a segment it hardly holds, cannot be
    # judged either: that too is not enough data.
    enough = len(current) >= min_rows and len(reference) >= MIN_REFERENCE_ROWS
    adjusted = fdr_adjust([r["p_value"] if enough else None for r in results])
    for result, adj in zip(results, adjusted, strict=True):
        result["adjusted_p"] = adj
        result["drifted"] = adj is not None and adj < alpha
    results.sort(
        key=lambda r: (not r["drifted"], 2.0 if r["adjusted_p"] is None else r["adjusted_p"])
    )
    drifted = sum(r["drifted"] for r in results)
    status = "not_enough_data" if not enough else ("drift" if drifted else "ok")
    return {
        "status": status,
        "rows": len(current),
        "min_rows": min_rows,
        "drifted": drifted,
        "inputs": results,
    }


def output_drift(
    *, task: str, reference: Sequence[Any], current: Sequence[Any], min_rows: int = MIN_ROWS
) -> dict[str, Any] | None:
    """The same test on the answers: the predicted class's mix, or the predicted value."""
    if len(current) < min_rows or not reference:
        return None
    found = (
        numeric_drift(reference, current)
        if task == "regression"
        else category_drift(reference, current)
    )
    found["drifted"] = found["p_value"] is not None and found["p_value"] < ALPHA
    return found


def latency_percentiles(latencies: Sequence[float] | np.ndarray) -> dict[str, float | None]:
    """p50, p95 and p99 of latencies in ms: numpy's (linear interpolation), or None."""
    values = np.asarray(latencies, dtype="float64")
    if values.size == 0:
        return {"p50": None, "p95": None, "p99": None}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": round(float(p50), 3), "p95": round(float(p95), 3), "p99": round(float(p99), 3)}


def bootstrap_interval(
    scores: Sequence[float] | np.ndarray,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """A percentile-bootstrap interval for the mean of per-row scores (seeded: reproducible)."""
    values = np.asarray(scores, dtype="float64")
    if values.size < 2:
        return None
    rng = np.random.default_rng(seed)
    # Resampled in blocks so memory stays bounded for a large window.
    means = np.concatenate(
        [
            values[rng.integers(0, values.size, size=(min(200, resamples - i), values.size))].mean(
                axis=1
            )
            for i in range(0, resamples, 200)
        ]
    )
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def segment_rows(
    rows: Sequence[Mapping[str, Any]], segment: tuple[str, str] | None
) -> list[Mapping[str, Any]]:
    """The rows whose category input ``segment[0]`` equals ``segment[1]`` (all without one)."""
    if segment is None:
        return list(rows)
    name, value = segment
    return [row for row in rows if str(row.get(name)) == value]


def distributions(
    *,
    interface: Interface,
    reference: Sequence[Mapping[str, Any]],
    current: Sequence[Mapping[str, Any]],
    bins: int = 24,
) -> dict[str, dict[str, Any]]:
    """Reference and current shares per input, ready to overlay: shared bins for a number,
    shared categories (unseen ones included) for a category or a boolean."""
    found: dict[str, dict[str, Any]] = {}
    for field_ in interface.fields:
        if field_.type not in TESTED_TYPES:
            continue
        ref, cur = _column(reference, field_.name), _column(current, field_.name)
        numeric = field_.type in ("number", "integer")
        shares = overlay_shares(ref, cur, numeric=numeric, bins=bins)
        if shares is not None:
            found[field_.name] = shares
    return found


def overlay_shares(
    reference: Sequence[Any], current: Sequence[Any], *, numeric: bool, bins: int = 24
) -> dict[str, Any] | None:
    """Shares of two samples on shared bins (numbers) or shared categories, to overlay."""
    if numeric:
        ref_values, cur_values = _finite(reference), _finite(current)
        both = np.concatenate([ref_values, cur_values])
        if both.size == 0:
            return None
        edges = np.histogram_bin_edges(both, bins=bins)
        return {
            "kind": "number",
            "edges": edges.round(6).tolist(),
            "reference": _shares(np.histogram(ref_values, bins=edges)[0]),
            "current": _shares(np.histogram(cur_values, bins=edges)[0]),
        }
    ref_s = pd.Series([str(v) for v in reference if v is not None], dtype=object)
    cur_s = pd.Series([str(v) for v in current if v is not None], dtype=object)
    labels = sorted(set(ref_s) | set(cur_s))
    return {
        "kind": "category",
        "categories": labels,
        "reference": _shares(ref_s.value_counts().reindex(labels, fill_value=0).to_numpy()),
        "current": _shares(cur_s.value_counts().reindex(labels, fill_value=0).to_numpy()),
    }


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [round(float(c) / total, 6) if total else 0.0 for c in counts]


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


def _answers(version: ModelVersion, period: Period) -> QuerySet[Prediction]:
    return Prediction.objects.filter(
        version=version,
        created_at__gte=period.since,
        created_at__lt=period.until,
        source__in=period.sources,
    )


def monitoring_traffic(*, version: ModelVersion, period: Period) -> dict[str, Any]:
    """Answers, rows and refused calls per window and source, with latency percentiles.

    Per window (exact): answers and rows by source from one SQL aggregate over the covering
    index, and the p95 latency of the window's calls from their latency column, fetched in
    time order and split by the aggregate's counts (no timestamp is fetched). A window that
    is over never changes, so it is cached (``WINDOW_SECONDS``): a warm page reads only the
    current window and a partial first one. Refusals come from the usage table (a refused
    call stores nothing). The period's p50/p95/p99 are numpy's on the latencies of its
    newest ``LATENCY_ROWS`` calls: all of them unless the period holds more. Batch jobs
    count as answers but not in latency: theirs is a whole job's.
    """
    keys = period.windows()
    now = timezone.now()
    complete = {
        k
        for k in keys
        if period.window_start(k) >= period.since
        and period.window_start(k) + period.window_length <= min(now, period.until)
    }
    cache_keys = {k: _window_key(version, period, k) for k in complete}
    cached = caches["monitoring"].get_many(list(cache_keys.values()))
    per_window = {k: cached[cache_keys[k]] for k in complete if cache_keys[k] in cached}
    missing = [k for k in keys if k not in per_window]
    if missing:
        fresh = {} if period.hourly else _rolled_windows(version, period, complete & {*missing})
        unrolled = [k for k in missing if k not in fresh]
        if unrolled:
            fresh.update(_windows_read(version, period, unrolled))
        per_window.update(fresh)
        caches["monitoring"].set_many(
            {cache_keys[k]: fresh[k] for k in missing if k in complete}, WINDOW_SECONDS
        )
        settle = now - ROLLUP_SETTLE
        if not period.hourly and any(
            k in complete and period.window_start(k) + period.window_length <= settle
            for k in unrolled
        ):
            _rollup_soon(version)
    refused = _refused(version, period)
    series = [
        {
            "start": k,
            "answers": per_window[k]["answers"],
            "rows": per_window[k]["rows"],
            "by_source": per_window[k]["by_source"],
            "refused": None if period.hourly else refused.get(k, 0),
            "p95_ms": per_window[k]["p95_ms"],
        }
        for k in keys
    ]
    return {
        "answers": sum(s["answers"] for s in series),
        "rows": sum(s["rows"] for s in series),
        "refused": sum(refused.values()),
        "latency_ms": latency_percentiles(_latencies(_answers(version, period), LATENCY_ROWS)),
        "window": "hour" if period.hourly else "day",
        "series": series,
    }


def _window_key(version: ModelVersion, period: Period, key: str) -> str:
    # The creation time too: a primary key can come back after a rollback.
    stamp = version.created_at.timestamp()
    return f"monitoring-window:{version.pk}:{stamp}:{','.join(sorted(period.sources))}:{key}"


def _windows_read(version: ModelVersion, period: Period, keys: list[str]) -> dict[str, dict]:
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
    answers = _answers(version, period).filter(ranges)
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
    latencies = _latencies(answers, None)
    offset = 0
    for key in keys:
        slot = found[key]
        slot["p95_ms"] = latency_percentiles(latencies[offset : offset + slot["timed"]])["p95"]
        offset += slot.pop("timed")
    return found


def _timed(sources: Iterable[str]) -> str:
    """The key of a set of sources' latencies in ``TrafficDay.p95_ms`` ("" when none is timed:
    a batch job's latency is a whole job's)."""
    return ",".join(sorted(s for s in sources if s != Source.BATCH))


# Each set of timed sources a period can hold, as TrafficDay.p95_ms keys it.
_TIMED_SETS = [
    tuple(c)
    for n in (1, 2)
    for c in itertools.combinations(sorted(Source.values), n)
    if Source.BATCH not in c
]


def _rolled_windows(version: ModelVersion, period: Period, keys: set[str]) -> dict[str, dict]:
    """The windows among ``keys`` (whole UTC days) that the rollup holds, in one query: what
    :func:`_windows_read` answers for them, put together from each day's per-source sums."""
    if not keys:
        return {}
    days = TrafficDay.objects.filter(
        version=version, day__in=[dt.date.fromisoformat(k) for k in keys]
    ).values_list("day", "counts", "p95_ms")
    timed = _timed(period.sources)
    found = {}
    for day, counts, p95 in days:
        mine = {s: counts[s] for s in sorted(counts) if s in period.sources}
        found[day.isoformat()] = {
            "answers": sum(n for n, _ in mine.values()),
            "rows": sum(r for _, r in mine.values()),
            "by_source": {s: n for s, (n, _) in mine.items()},
            "p95_ms": p95.get(timed) if timed else None,
        }
    return found


def _rollup_soon(version: ModelVersion) -> None:
    """Ask the task worker to sum this version's settled days (once per few minutes)."""
    if caches["default"].add(f"monitoring-rollup-queued:{version.pk}", True, 600):
        from registry.tasks import monitoring_rollup

        monitoring_rollup.enqueue(version.pk)


def traffic_days_fill(*, version: ModelVersion, now: dt.datetime | None = None) -> int:
    """Sum each settled UTC day of ``version`` the rollup lacks into ``TrafficDay``; returns
    the days summed.

    The ``ROLLUP_MAX_DAYS`` days up to the last one over for ``ROLLUP_SETTLE`` (a version
    with no answer yet has nothing to sum). Each day's figures are :func:`_windows_read`'s, by
    the same queries: per source alone (answers, rows, p95), and for page and api together
    (their joint p95), so a page reading the rollup shows what reading the answers would.
    """
    now = now or timezone.now()
    last = (now - ROLLUP_SETTLE).astimezone(dt.UTC).date() - dt.timedelta(days=1)
    start = last - dt.timedelta(days=ROLLUP_MAX_DAYS - 1)
    first = (
        Prediction.objects.filter(version=version)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if first is None:
        return 0
    done = set(
        TrafficDay.objects.filter(version=version, day__gte=start, day__lte=last).values_list(
            "day", flat=True
        )
    )
    todo = [
        start + dt.timedelta(days=i)
        for i in range((last - start).days + 1)
        if start + dt.timedelta(days=i) not in done
    ]
    # Days before the first answer hold none (answers are stamped as they are stored; seeding
    # that backdates them drops the rollup, see registry.demo.backdated): no need to read.
    before = first.astimezone(dt.UTC).date()
    empty = [TrafficDay(version=version, day=d) for d in todo if d < before]
    added = len(TrafficDay.objects.bulk_create(empty, ignore_conflicts=True))
    todo = [d for d in todo if d >= before]
    while todo:
        # Contiguous days, at most ROLLUP_CHUNK_DAYS, in one read per set of sources.
        run = [todo.pop(0)]
        while todo and len(run) < ROLLUP_CHUNK_DAYS and todo[0] == run[-1] + dt.timedelta(1):
            run.append(todo.pop(0))
        since = dt.datetime.combine(run[0], dt.time(), tzinfo=dt.UTC)
        span = Period(since=since, until=since + dt.timedelta(days=len(run)), daily=True)
        keys = [d.isoformat() for d in run]
        rolled = {k: TrafficDay(version=version, day=d) for k, d in zip(keys, run, strict=True)}
        for source in Source.values:
            alone = _windows_read(version, replace(span, sources=(source,)), keys)
            for key, window in alone.items():
                if window["answers"]:
                    rolled[key].counts[source] = [window["answers"], window["rows"]]
                if source != Source.BATCH:
                    rolled[key].p95_ms[source] = window["p95_ms"]
        for sources in _TIMED_SETS:
            if len(sources) > 1:
                joint = _windows_read(version, replace(span, sources=sources), keys)
                for key, window in joint.items():
                    rolled[key].p95_ms[_timed(sources)] = window["p95_ms"]
        # Another worker may have summed the same days meanwhile: theirs are the same sums.
        added += len(TrafficDay.objects.bulk_create(rolled.values(), ignore_conflicts=True))
    return added


def traffic_days_fill_all(*, version_id: int | None = None) -> dict[ModelVersion, int]:
    """:func:`traffic_days_fill` for one version, or every version: the days summed of each."""
    versions = ModelVersion.objects.select_related("model").order_by("pk")
    if version_id is not None:
        versions = versions.filter(pk=version_id)
    return {v: traffic_days_fill(version=v) for v in versions.defer(*_NOT_FOR_ROLLUP)}


# The heavy columns of a version, which summing its days never reads.
_NOT_FOR_ROLLUP = ("interface", "evaluation", "reference_sample", "metrics", "params")


def _refused(version: ModelVersion, period: Period) -> dict[str, int]:
    kinds = [f"refused.{s}" for s in period.sources]
    found: dict[str, int] = {}
    usage = Usage.objects.filter(
        version=version,
        kind__in=kinds,
        day__gte=period.since.astimezone(dt.UTC).date(),
        day__lte=period.until.astimezone(dt.UTC).date(),
    ).values_list("day", "count")
    for day, count in usage:
        found[day.isoformat()] = found.get(day.isoformat(), 0) + count
    return found


def _latencies(answers: QuerySet[Prediction], newest: int | None) -> np.ndarray:
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


def _rows_of(predictions: Iterable[tuple[Any, Any, Any]], limit: int) -> list[dict[str, Any]]:
    """Stored answers flattened to rows: inputs with ``__output`` and ``__actual`` beside.

    A column that was not read comes as the record's row count (an int) instead of a list.
    """
    flat: list[dict[str, Any]] = []
    for inputs, outputs, feedback in predictions:
        n = inputs if isinstance(inputs, int) else len(inputs)
        rows = inputs if isinstance(inputs, list) else [{}] * n
        answers = outputs if isinstance(outputs, list) else [{}] * n
        actual = feedback if isinstance(feedback, list) else [feedback] * n
        if isinstance(feedback, int) or len(actual) != n:
            actual = [None] * n  # not read, or feedback for a job's whole file, not its head
        for row, output, truth in zip(rows, answers, actual, strict=False):
            if not isinstance(row, dict) or not isinstance(output, dict):
                continue
            flat.append(
                {**row, "__output": output.get("label", output.get("value")), "__actual": truth}
            )
            if len(flat) >= limit:
                return flat
    return flat


def _sample(
    queryset: QuerySet[Prediction],
    limit: int,
    *,
    labelled: bool = False,
    inputs: bool = True,
    answers: bool = True,
) -> list[dict[str, Any]]:
    """The newest rows of ``queryset``, at most ``limit``, decoding only the columns asked
    for (decoding JSON is most of a sample's cost)."""
    qs = queryset.order_by("-created_at")
    if labelled:
        qs = qs.filter(feedback__isnull=False)
    columns = [
        "inputs" if inputs else "row_count",
        "outputs" if answers else "row_count",
        "feedback" if answers else "row_count",
    ]
    # Most calls are one row; a record holds at most the rows of its call (or a job's head).
    found = qs.values_list(*columns)[:limit]
    return _rows_of(found.iterator(chunk_size=500), limit)


# Reference answers: the version's own predictions on its reference sample, once per process.
_reference_outputs: OrderedDict[tuple, list[Any]] = OrderedDict()
_reference_lock = threading.Lock()


def _reference_answers(version: ModelVersion, interface: Interface) -> list[Any]:
    from registry.inference import score
    from registry.selectors import version_estimator

    key = (version.pk, version.created_at)
    with _reference_lock:
        if key in _reference_outputs:
            return _reference_outputs[key]
    rows = [{n: r.get(n) for n in interface.names} for r in version.reference_sample]
    if not rows:
        return []
    frame = interface.validate(rows).frame
    scores = score(version_estimator(version), frame, interface)
    answers = (
        [round(float(v), 6) for v in scores.values]
        if scores.task == "regression"
        else [str(v) for v in scores.labels]
    )
    with _reference_lock:
        _reference_outputs[key] = answers
        while len(_reference_outputs) > 64:
            _reference_outputs.popitem(last=False)
    return answers


def _segment_reference(
    version: ModelVersion, interface: Interface, segment: tuple[str, str] | None
) -> tuple[list[Mapping[str, Any]], list[Any]]:
    reference = list(version.reference_sample)
    outputs = _reference_answers(version, interface)
    if segment is None:
        return reference, outputs
    keep = [i for i, row in enumerate(reference) if str(row.get(segment[0])) == segment[1]]
    return [reference[i] for i in keep], [outputs[i] for i in keep if i < len(outputs)]


def monitoring_drift(
    *, version: ModelVersion, period: Period, with_distributions: bool = False
) -> dict[str, Any]:
    """Input and output drift of the newest ``SAMPLE_ROWS`` rows of the period."""
    interface = Interface(version.interface)
    reference, reference_outputs = _segment_reference(version, interface, period.segment)
    current = segment_rows(_sample(_answers(version, period), SAMPLE_ROWS), period.segment)
    report = input_drift(interface=interface, reference=reference, current=current)
    report["segment"] = (
        {"input": period.segment[0], "value": period.segment[1]} if period.segment else None
    )
    report["reference_rows"] = len(reference)
    current_outputs = [r["__output"] for r in current if r["__output"] is not None]
    report["output"] = output_drift(
        task=interface.task, reference=reference_outputs, current=current_outputs
    )
    if with_distributions:
        report["distributions"] = distributions(
            interface=interface, reference=reference, current=current
        )
        report["output_distribution"] = overlay_shares(
            reference_outputs, current_outputs, numeric=interface.task == "regression"
        )
    return report


def _drift_windows(period: Period) -> list[tuple[dt.datetime, dt.datetime]]:
    keys = period.windows()
    group = max(1, math.ceil(len(keys) / MAX_DRIFT_WINDOWS))
    spans = []
    for i in range(0, len(keys), group):
        start = max(period.since, period.window_start(keys[i]))
        end = min(period.until, period.window_start(keys[i]) + period.window_length * group)
        spans.append((start, end))
    return spans


def _per_window(
    version: ModelVersion, period: Period, kind: str, compute: Any, seconds: int
) -> list[Any]:
    """``compute(start, end)`` for each drift window; a finished window's answer is cached
    for ``seconds`` (only the current window is computed on a warm page)."""
    now = timezone.now()
    spans = _drift_windows(period)
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


def monitoring_drift_over_time(*, version: ModelVersion, period: Period) -> list[dict[str, Any]]:
    """Drift per window (at most ``MAX_DRIFT_WINDOWS``), each on its newest ``WINDOW_ROWS``
    rows: one bounded query per window not yet cached (finished windows are kept)."""
    interface = Interface(version.interface)
    reference, _ = _segment_reference(version, interface, period.segment)

    def compute(start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
        part = Period(since=start, until=end, sources=period.sources, segment=period.segment)
        rows = segment_rows(
            _sample(_answers(version, part), WINDOW_ROWS, answers=False), period.segment
        )
        report = input_drift(interface=interface, reference=reference, current=rows)
        return {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "status": report["status"],
            "rows": report["rows"],
            "adjusted_p": {r["input"]: r["adjusted_p"] for r in report["inputs"]},
            "drifted": [r["input"] for r in report["inputs"] if r["drifted"]],
        }

    return _per_window(version, period, "drift", compute, WINDOW_SECONDS)


def _row_scores(task: str, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Per-row scores whose mean is the metric: 1/0 for a right/wrong class, else |error|."""
    if task == "classification":
        return np.array([float(str(r["__output"]) == str(r["__actual"])) for r in rows])
    found = []
    for r in rows:
        try:
            found.append(abs(float(r["__output"]) - float(r["__actual"])))
        except (TypeError, ValueError):
            continue
    return np.array(found, dtype="float64")


def monitoring_performance(*, version: ModelVersion, period: Period) -> dict[str, Any] | None:
    """The realised metric from feedback (accuracy, or mean absolute error for a regressor),
    overall and per window, each with a bootstrap interval, beside the reference metric.
    ``None`` when no answer of the period has feedback."""
    task = version.interface["output"]["task"]
    metric = "accuracy" if task == "classification" else "mae"
    answers = _answers(version, period)
    segmented = period.segment is not None
    rows = segment_rows(
        _sample(answers, SAMPLE_ROWS, labelled=True, inputs=segmented), period.segment
    )
    rows = [r for r in rows if r["__actual"] is not None]
    if not rows:
        return None
    scores = _row_scores(task, rows)
    interval = bootstrap_interval(scores)

    def compute(start: dt.datetime, end: dt.datetime) -> dict[str, Any] | None:
        part = Period(since=start, until=end, sources=period.sources)
        window_rows = segment_rows(
            _sample(_answers(version, part), WINDOW_ROWS, labelled=True, inputs=segmented),
            period.segment,
        )
        window_scores = _row_scores(task, [r for r in window_rows if r["__actual"] is not None])
        if not window_scores.size:
            return None
        return {
            "start": start.isoformat(),
            "labelled": int(window_scores.size),
            "value": float(window_scores.mean()),
            "interval": bootstrap_interval(window_scores),
        }

    # Feedback arrives after the answer, so a finished window is kept minutes, not a day.
    windows = _per_window(version, period, "performance", compute, STATUS_SECONDS)
    series = [w for w in windows if w is not None]
    reference = version.metrics.get(metric)
    return {
        "metric": metric,
        "labelled": int(scores.size),
        "value": float(scores.mean()) if scores.size else None,
        "interval": list(interval) if interval else None,
        "reference": float(reference) if reference is not None else None,
        "series": series,
    }


def monitoring_report(
    *, version: ModelVersion, period: Period, with_distributions: bool = False
) -> dict[str, Any]:
    """Everything the monitoring page and API show for a version over a period."""
    return {
        "model": version.model.name,
        "version": version.number,
        "since": period.since.isoformat(),
        "until": period.until.isoformat(),
        "sources": list(period.sources),
        "traffic": monitoring_traffic(version=version, period=period),
        "drift": monitoring_drift(
            version=version, period=period, with_distributions=with_distributions
        ),
        "drift_over_time": monitoring_drift_over_time(version=version, period=period),
        "performance": monitoring_performance(version=version, period=period),
    }


def _status_key(version: ModelVersion) -> str:
    return f"monitoring-status:{version.pk}:{version.created_at.timestamp()}"


def monitoring_statuses(*, versions: Sequence[ModelVersion]) -> dict[int, dict[str, Any]]:
    """Each version's state over the default period: ``{"status", "drifted", "rows"}`` with
    status ok, drift or not_enough_data, as the monitoring page computes it for input drift.

    Cached per version for ``STATUS_SECONDS`` (a few minutes' lag is fine for a status). The
    versions not in the cache are read in one query, whatever their number: the newest
    ``SAMPLE_ROWS`` answers of each, one bounded sub-select per version joined by UNION ALL.
    """
    keys = {_status_key(v): v for v in versions}
    found = caches["monitoring"].get_many(list(keys))
    missing = [v for k, v in keys.items() if k not in found]
    if missing:
        samples = _newest_rows_of(missing)
        computed = {}
        for version in missing:
            drift = input_drift(
                interface=Interface(version.interface),
                reference=version.reference_sample,
                current=samples.get(version.pk, []),
            )
            computed[_status_key(version)] = {
                "status": drift["status"],
                "drifted": drift["drifted"],
                "rows": drift["rows"],
            }
        caches["monitoring"].set_many(computed, STATUS_SECONDS)
        found.update(computed)
    return {v.pk: found[k] for k, v in keys.items()}


def _newest_rows_of(versions: Sequence[ModelVersion]) -> dict[int, list[dict[str, Any]]]:
    """The newest ``SAMPLE_ROWS`` input rows of each version's default period, one query.

    Only the inputs are read and decoded: decoding JSON is most of the cost of a status.
    """
    parts, params = [], []
    for version in versions:
        qs = (
            _answers(version, period_parse(version=version))
            .order_by("-created_at")
            .values_list("version_id", "inputs")[:SAMPLE_ROWS]
        )
        sql, part_params = qs.query.sql_with_params()
        # Wrapped: SQLite takes no LIMIT on a bare member of a compound SELECT.
        parts.append(f"SELECT * FROM ({sql}) AS part{len(parts)}")
        params.extend(part_params)
    field_ = Prediction._meta.get_field("inputs")
    by_version: dict[int, list[dict[str, Any]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for version_id, inputs in cursor.fetchall():
            rows = by_version.setdefault(version_id, [])
            if len(rows) < SAMPLE_ROWS:
                decoded = field_.from_db_value(inputs, None, connection)
                rows.extend(r for r in decoded if isinstance(r, dict))
    return {pk: rows[:SAMPLE_ROWS] for pk, rows in by_version.items()}


def monitoring_status(*, version: ModelVersion) -> dict[str, Any]:
    """:func:`monitoring_statuses` of one version."""
    return monitoring_statuses(versions=[version])[version.pk]
