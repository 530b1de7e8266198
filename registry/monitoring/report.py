"""Monitoring: how a version is used, and whether what it is asked still looks like the data
it was trained for.

The readers here turn stored answers into the arrays of :mod:`registry.monitoring.stats` with
bounded queries:

- traffic comes from SQL aggregates over a covering index (version, created_at, source,
  latency, rows), so it costs one index range scan whatever the size of the rows' JSON;
  days that are over are read from the daily rollup (:class:`registry.models.TrafficDay`);
- latency percentiles are exact (numpy's, on the same rows): the latency column alone is
  fetched, in time order, and split into windows by the aggregate's counts;
- drift, output drift and performance read a bounded sample of the newest rows
  (``SAMPLE_ROWS``), never the whole table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from django.core.cache import caches
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from registry.inference import score
from registry.interface import Interface
from registry.models import ModelVersion, Prediction, TrafficDay, Usage
from registry.monitoring.estimation import RECENT_DAYS, monitoring_estimated_performance
from registry.monitoring.quality import monitoring_quality, quality_counts
from registry.monitoring.rollup import monitoring_rollup
from registry.monitoring.stats import (
    LATENCY_ROWS,
    ROLLUP_SETTLE,
    SAMPLE_ROWS,
    STATUS_SECONDS,
    WINDOW_ROWS,
    WINDOW_SECONDS,
    bootstrap_interval,
    distributions,
    input_drift,
    latency_percentiles,
    output_drift,
    overlay_shares,
    segment_rows,
)
from registry.monitoring.verdict import normal_interval, recent_figure, verdict
from registry.monitoring.windows import (
    Period,
    period_answers,
    period_latencies,
    period_parse,
    timed_key,
    window_cache_key,
    window_results,
    windows_read,
)
from registry.runtime import version_cached, version_estimator, version_interface


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
    cache_keys = {k: window_cache_key(version, period, k) for k in complete}
    cached = caches["monitoring"].get_many(list(cache_keys.values()))
    per_window = {k: cached[cache_keys[k]] for k in complete if cache_keys[k] in cached}
    missing = [k for k in keys if k not in per_window]
    if missing:
        fresh = {} if period.hourly else _rolled_windows(version, period, complete & {*missing})
        unrolled = [k for k in missing if k not in fresh]
        if unrolled:
            fresh.update(windows_read(version, period, unrolled))
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
        "latency_ms": latency_percentiles(
            period_latencies(period_answers(version, period), LATENCY_ROWS)
        ),
        "window": "hour" if period.hourly else "day",
        "series": series,
    }


def _rolled_windows(version: ModelVersion, period: Period, keys: set[str]) -> dict[str, dict]:
    """The windows among ``keys`` (whole UTC days) that the rollup holds, in one query: what
    :func:`windows_read` answers for them, put together from each day's per-source sums."""
    if not keys:
        return {}
    days = TrafficDay.objects.filter(
        version=version, day__in=[dt.date.fromisoformat(k) for k in keys]
    ).values_list("day", "counts", "p95_ms")
    timed = timed_key(period.sources)
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
        monitoring_rollup.enqueue(version.pk)


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


def _reference_answers(version: ModelVersion, interface: Interface) -> list[Any]:
    """The version's own answers on its reference sample, once per process."""

    def build() -> list[Any]:
        rows = [{n: r.get(n) for n in interface.names} for r in version.reference_sample]
        if not rows:
            return []
        scores = score(version_estimator(version), interface.validate(rows).frame, interface)
        if scores.task == "regression":
            return [round(float(v), 6) for v in scores.values]
        return [str(v) for v in scores.labels]

    return version_cached(version, "reference_answers", build)


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
    current = segment_rows(_sample(period_answers(version, period), SAMPLE_ROWS), period.segment)
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


def monitoring_drift_over_time(*, version: ModelVersion, period: Period) -> list[dict[str, Any]]:
    """Drift per window (at most ``MAX_DRIFT_WINDOWS``), each on its newest ``WINDOW_ROWS``
    rows, with the data quality counts of those rows: one bounded query per window not yet
    cached (finished windows are kept)."""
    interface = Interface(version.interface)
    reference, _ = _segment_reference(version, interface, period.segment)

    def compute(start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
        part = Period(since=start, until=end, sources=period.sources, segment=period.segment)
        rows = segment_rows(
            _sample(period_answers(version, part), WINDOW_ROWS, answers=False), period.segment
        )
        report = input_drift(interface=interface, reference=reference, current=rows)
        return {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "status": report["status"],
            "rows": report["rows"],
            "adjusted_p": {r["input"]: r["adjusted_p"] for r in report["inputs"]},
            "drifted": [r["input"] for r in report["inputs"] if r["drifted"]],
            "quality": quality_counts(interface=interface, reference=reference, rows=rows),
        }

    # "drift-quality": windows kept before they carried quality counts are not reused.
    return window_results(version, period, "drift-quality", compute, WINDOW_SECONDS)


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
    answers = period_answers(version, period)
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
            _sample(period_answers(version, part), WINDOW_ROWS, labelled=True, inputs=segmented),
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
    windows = window_results(version, period, "performance", compute, STATUS_SECONDS)
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
    """Everything the monitoring page and API show for a version over a period, led by the
    verdict (:func:`monitoring_verdict`)."""
    performance = monitoring_performance(version=version, period=period)
    drift_over_time = monitoring_drift_over_time(version=version, period=period)
    drift = monitoring_drift(version=version, period=period, with_distributions=with_distributions)
    estimated = monitoring_estimated_performance(
        version=version, period=period, performance=performance
    )
    return {
        "model": version.model.name,
        "version": version.number,
        "since": period.since.isoformat(),
        "until": period.until.isoformat(),
        "sources": list(period.sources),
        "verdict": monitoring_verdict(
            version=version, period=period, drift=drift, estimated=estimated
        ),
        "traffic": monitoring_traffic(version=version, period=period),
        "drift": drift,
        "drift_over_time": drift_over_time,
        "quality": monitoring_quality(version=version, period=period, windows=drift_over_time),
        "performance": performance,
        "estimated_performance": estimated,
    }


def _span(period: Period) -> str:
    days = (period.until - period.since).total_seconds() / 86400
    if days >= 1.5:
        return f"over the last {round(days)} days"
    return f"over the last {max(1, round(days * 24))} hours"


def monitoring_verdict(
    *,
    version: ModelVersion,
    period: Period,
    drift: Mapping[str, Any],
    estimated: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The sentence to act on: performance over the recent ``RECENT_DAYS`` days (from
    feedback when enough answers have it, else estimated) against the reference, then what
    moved. ``{"level", "sentence", "badge", "performance": judgement or None}``."""
    recent = _recent(period)
    feedback = monitoring_performance(version=version, period=recent)
    metric = "accuracy" if version.interface["output"]["task"] == "classification" else "mae"
    reference = version.metrics.get(metric)
    judged = recent_figure(
        feedback=feedback,
        estimated=estimated["recent"] if estimated else None,
        metric=metric,
        reference=float(reference) if reference is not None else None,
    )
    labels = {f.name: f.spec.get("label") or f.name for f in version_interface(version).fields}
    return {
        **verdict(drift=drift, judged=judged, labels=labels, span=_span(recent)),
        "performance": judged,
    }


def _status_key(version: ModelVersion) -> str:
    # "v2": a status now carries the verdict's level and badge.
    return f"monitoring-status-v2:{version.pk}:{version.created_at.timestamp()}"


# Answers with feedback a status reads per version (the newest of the recent days): 500
# outcomes pin an accuracy to about ±3 points, a mean error to about ±9% of itself.
STATUS_LABELLED = 500


def monitoring_statuses(*, versions: Sequence[ModelVersion]) -> dict[int, dict[str, Any]]:
    """Each version's state over the default period: ``{"status", "drifted", "rows",
    "level", "badge", "sentence"}``: status ok, drift or not_enough_data as the monitoring
    page computes it for input drift; level, badge and sentence are the verdict's, judged on
    drift and on the performance from feedback of the last ``RECENT_DAYS`` days (the
    estimate without feedback needs the model run on every answer: the page's, not a tile's).

    Cached per version for ``STATUS_SECONDS`` (a few minutes' lag is fine for a status). The
    versions not in the cache are read in two queries, whatever their number: the newest
    ``SAMPLE_ROWS`` inputs of each and the newest ``STATUS_LABELLED`` answers with feedback
    of each, one bounded sub-select per version joined by UNION ALL.
    """
    keys = {_status_key(v): v for v in versions}
    found = caches["monitoring"].get_many(list(keys))
    missing = [v for k, v in keys.items() if k not in found]
    if missing:
        samples = _newest_rows_of(missing)
        labelled = _recent_labelled_of(missing)
        computed = {}
        for version in missing:
            interface = Interface(version.interface)
            drift = input_drift(
                interface=interface,
                reference=version.reference_sample,
                current=samples.get(version.pk, []),
            )
            metric = "accuracy" if interface.task == "classification" else "mae"
            scores = _row_scores(interface.task, labelled.get(version.pk, []))
            interval = normal_interval(scores)
            reference = version.metrics.get(metric)
            judged = recent_figure(
                feedback={
                    "value": float(scores.mean()) if scores.size else None,
                    "interval": interval,
                    "labelled": int(scores.size),
                },
                estimated=None,
                metric=metric,
                reference=float(reference) if reference is not None else None,
            )
            words = verdict(
                drift=drift,
                judged=judged,
                labels={f.name: f.spec.get("label") or f.name for f in interface.fields},
            )
            computed[_status_key(version)] = {
                "status": drift["status"],
                "drifted": drift["drifted"],
                "rows": drift["rows"],
                **words,
            }
        caches["monitoring"].set_many(computed, STATUS_SECONDS)
        found.update(computed)
    return {v.pk: found[k] for k, v in keys.items()}


def _union_newest(parts_of: Iterable[QuerySet[Prediction]]) -> list[tuple]:
    """The rows of several bounded querysets in one query (UNION ALL)."""
    parts, params = [], []
    for qs in parts_of:
        sql, part_params = qs.query.sql_with_params()
        # Wrapped: SQLite takes no LIMIT on a bare member of a compound SELECT.
        parts.append(f"SELECT * FROM ({sql}) AS part{len(parts)}")
        params.extend(part_params)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return cursor.fetchall()


def _newest_rows_of(versions: Sequence[ModelVersion]) -> dict[int, list[dict[str, Any]]]:
    """The newest ``SAMPLE_ROWS`` input rows of each version's default period, one query.

    Only the inputs are read and decoded: decoding JSON is most of the cost of a status.
    """
    found = _union_newest(
        period_answers(version, period_parse(version=version))
        .order_by("-created_at")
        .values_list("version_id", "inputs")[:SAMPLE_ROWS]
        for version in versions
    )
    field_ = Prediction._meta.get_field("inputs")
    by_version: dict[int, list[dict[str, Any]]] = {}
    for version_id, inputs in found:
        rows = by_version.setdefault(version_id, [])
        if len(rows) < SAMPLE_ROWS:
            decoded = field_.from_db_value(inputs, None, connection)
            rows.extend(r for r in decoded if isinstance(r, dict))
    return {pk: rows[:SAMPLE_ROWS] for pk, rows in by_version.items()}


def _recent_labelled_of(versions: Sequence[ModelVersion]) -> dict[int, list[dict[str, Any]]]:
    """The answers with feedback of each version's last ``RECENT_DAYS`` days (the newest
    ``STATUS_LABELLED`` records), flattened as :func:`_rows_of` does, in one query."""
    found = _union_newest(
        period_answers(version, _recent(period_parse(version=version)))
        .filter(feedback__isnull=False)
        .order_by("-created_at")
        .values_list("version_id", "row_count", "outputs", "feedback")[:STATUS_LABELLED]
        for version in versions
    )
    outputs_field = Prediction._meta.get_field("outputs")
    feedback_field = Prediction._meta.get_field("feedback")
    records: dict[int, list[tuple]] = {}
    for version_id, count, outputs, feedback in found:
        records.setdefault(version_id, []).append(
            (
                count,
                outputs_field.from_db_value(outputs, None, connection),
                feedback_field.from_db_value(feedback, None, connection),
            )
        )
    return {
        pk: [r for r in _rows_of(found_, STATUS_LABELLED) if r["__actual"] is not None]
        for pk, found_ in records.items()
    }


def _recent(period: Period) -> Period:
    return replace(period, since=max(period.since, period.until - dt.timedelta(RECENT_DAYS)))
