"""Estimated performance of a version over a period, read from its stored answers.

The estimator (a calibration of the classifier's probabilities, or a model of the
regressor's error; :mod:`registry.monitoring.estimate`) is fitted once per process on the
version's labelled reference rows (``version_cached``). Each window's estimate reads the
newest ``WINDOW_ROWS`` answers of the window (their inputs, stored answers and feedback) and
is kept like the performance from feedback: feedback arrives late, so a finished window is
kept minutes, not a day. The recent window the verdict judges is the last ``RECENT_DAYS``
days of the period, on its newest ``SAMPLE_ROWS`` answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from django.core.cache import caches

from registry.inference import score
from registry.interface import InvalidInput, native
from registry.models import ModelVersion
from registry.monitoring.estimate import (
    MIN_PERIOD_ROWS,
    MIN_REFERENCE_LABELLED,
    Calibration,
    ErrorModel,
    calibration_fit,
    cbpe_estimate,
    cbpe_metrics,
    dle_estimate,
    error_model_fit,
    realized,
)
from registry.monitoring.stats import STATUS_SECONDS, WINDOW_ROWS, segment_rows
from registry.monitoring.windows import Period, period_answers, window_results
from registry.runtime import version_cached, version_estimator, version_interface

# The verdict judges performance on this many recent days against the reference, on at most
# RECENT_ROWS of their newest answers: 2,000 rows pin an accuracy near 85% to about ±1.6
# points (95%), finer than the calibration itself is known.
RECENT_DAYS = 7
RECENT_ROWS = 2000


def performance_estimator(version: ModelVersion) -> Calibration | ErrorModel | None:
    """The version's CBPE calibration or DLE error model, fitted on its labelled reference
    rows once per process; ``None`` without enough of them (or without probabilities)."""
    return version_cached(version, "performance_estimator", lambda: _estimator_fit(version))


def _estimator_fit(version: ModelVersion) -> Calibration | ErrorModel | None:
    interface = version_interface(version)
    target = interface.output.get("target")
    labelled = [r for r in version.reference_sample if target and r.get(target) is not None]
    if len(labelled) < MIN_REFERENCE_LABELLED:
        return None
    rows = [{n: r.get(n) for n in interface.names} for r in labelled]
    try:
        scores = score(version_estimator(version), interface.validate(rows).frame, interface)
    except InvalidInput:
        return None
    if interface.task == "regression":
        actual = np.array([_float(r[target]) for r in labelled])
        keep = np.isfinite(actual)
        if keep.sum() < MIN_REFERENCE_LABELLED:
            return None
        return error_model_fit(
            [row for row, k in zip(rows, keep, strict=True) if k],
            interface.spec["inputs"],
            np.asarray(scores.values, dtype="float64")[keep],
            actual[keep],
        )
    if scores.probabilities is None:
        return None
    classes = [str(c) for c in scores.classes]
    index = {c: i for i, c in enumerate(classes)}
    actual = np.array([index.get(str(native(r[target])), -1) for r in labelled])
    keep = actual >= 0
    if keep.sum() < MIN_REFERENCE_LABELLED:
        return None
    return calibration_fit(scores.probabilities[keep], actual[keep], classes)


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _answers(
    version: ModelVersion, period: Period, limit: int
) -> list[tuple[Mapping[str, Any], Mapping[str, Any], Any]]:
    """The newest rows of the period, at most ``limit``: (inputs, stored answer, feedback)."""
    found = (
        period_answers(version, period)
        .order_by("-created_at")
        .values_list("inputs", "outputs", "feedback")[:limit]
    )
    return list(_flat(found.iterator(chunk_size=500), limit))


def _flat(records: Iterable[tuple[Any, Any, Any]], limit: int):
    count = 0
    for inputs, outputs, feedback in records:
        if not isinstance(inputs, list) or not isinstance(outputs, list):
            continue
        actual = feedback if isinstance(feedback, list) else [feedback] * len(inputs)
        if len(actual) != len(inputs):
            actual = [None] * len(inputs)  # feedback for a whole job, not for its rows
        for row, output, truth in zip(inputs, outputs, actual, strict=False):
            if isinstance(row, dict) and isinstance(output, dict):
                yield row, output, truth
                count += 1
                if count >= limit:
                    return


def _estimate_rows(
    estimator: Calibration | ErrorModel,
    metrics: Sequence[str],
    found: Sequence[tuple[Mapping[str, Any], Mapping[str, Any], Any]],
) -> dict[str, Any]:
    """Each metric's estimate, interval and realized figure (from the rows with feedback)."""
    figures: dict[str, Any] = {}
    if isinstance(estimator, ErrorModel):
        rows = [(r, _float(o.get("value")), t) for r, o, t in found]
        rows = [(r, v, t) for r, v, t in rows if np.isfinite(v)]
        answers = np.array([v for _, v, _ in rows], dtype="float64")
        estimate = dle_estimate(estimator, [r for r, _, _ in rows], answers)
        errors = [abs(v - _float(t)) for _, v, t in rows if t is not None]
        errors = [e for e in errors if np.isfinite(e)]
        figures["mae"] = _figure(estimate, float(np.mean(errors)) if errors else None, len(errors))
        return {"rows": len(rows), "figures": figures}
    classes = estimator.classes
    matrix, labelled = [], []
    for _, output, truth in found:
        shares = output.get("probabilities")
        if not isinstance(shares, dict):
            continue
        matrix.append([_float(shares.get(c)) for c in classes])
        labelled.append(classes.index(str(truth)) if str(truth) in classes else -1)
    probabilities = np.array(matrix, dtype="float64").reshape(-1, len(classes))
    probabilities = probabilities[np.isfinite(probabilities).all(axis=1)]
    actual = np.array(labelled[: len(probabilities)])
    answered = probabilities.argmax(axis=1)
    scores = probabilities[:, 1] if len(classes) == 2 else probabilities
    has = actual >= 0
    for metric in metrics:
        estimate = cbpe_estimate(estimator, probabilities, metric=metric)
        real = None
        if has.sum() >= MIN_PERIOD_ROWS:
            real = realized(
                metric,
                actual=actual[has],
                answered=answered[has],
                scores=scores[has],
            )
        figures[metric] = _figure(estimate, real, int(has.sum()))
    return {"rows": len(probabilities), "figures": figures}


def _figure(estimate: dict[str, float] | None, real: float | None, labelled: int) -> dict:
    empty = {"estimate": None, "low": None, "high": None}
    return {**(estimate or empty), "realized": real, "labelled": labelled}


def _reference(version: ModelVersion, metric: str) -> float | None:
    value = version.metrics.get(metric)
    return float(value) if value is not None else None


def monitoring_estimated_performance(
    *, version: ModelVersion, period: Period, performance: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """Performance without feedback per window, and over the recent ``RECENT_DAYS`` days.

    ``{"method": "CBPE" | "DLE", "metric", "reference", "series": [{"start", "end", "rows",
    "estimate", "low", "high", "realized", "labelled"}], "recent": {…same, "since"},
    "others": [{"metric", "reference", "series"}], "check": {…}}``. ``None`` when the version
    has too few labelled reference rows, or gives no probabilities.
    """
    estimator = performance_estimator(version)
    if estimator is None:
        return None
    if isinstance(estimator, ErrorModel):
        method, metrics = "DLE", ["mae"]
    else:
        method, metrics = "CBPE", cbpe_metrics(estimator.classes)

    def compute(start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
        part = replace(period, since=start, until=end)
        return _window(version, part, estimator, metrics, WINDOW_ROWS)

    windows = window_results(version, period, "estimate", compute, STATUS_SECONDS)
    recent = _recent(version, period, estimator, metrics)
    by_metric = {
        metric: {
            "metric": metric,
            "reference": _reference(version, metric),
            "series": [
                {"start": w["start"], "end": w["end"], "rows": w["rows"], **w["figures"][metric]}
                for w in windows
            ],
            "recent": {
                "since": recent["start"],
                "rows": recent["rows"],
                **recent["figures"][metric],
            },
        }
        for metric in metrics
    }
    headline = by_metric[metrics[0]]
    from_feedback = {w["start"]: w for w in (performance or {}).get("series", [])}
    for point in headline["series"]:
        known = from_feedback.get(point["start"])
        if point["realized"] is None and known is not None:
            point["realized"], point["labelled"] = known["value"], known["labelled"]
    return {
        "method": method,
        **headline,
        "summary": estimated_summary(
            method=method,
            metric=headline["metric"],
            recent=headline["recent"],
            reference=headline["reference"],
            days=(period.until - dt.datetime.fromisoformat(recent["start"])).total_seconds()
            / 86400,
            unit=version_interface(version).output.get("unit"),
        ),
        "others": [by_metric[m] for m in metrics[1:]],
        "check": {
            "kind": "calibration" if method == "CBPE" else "error model",
            "method": estimator.method,
            **estimator.check,
        },
    }


def _window(
    version: ModelVersion,
    part: Period,
    estimator: Calibration | ErrorModel,
    metrics: Sequence[str],
    limit: int,
) -> dict[str, Any]:
    found = _answers(version, part, limit)
    if part.segment:
        kept = segment_rows([row for row, _, _ in found], part.segment)
        ids = {id(row) for row in kept}
        found = [f for f in found if id(f[0]) in ids]
    result = _estimate_rows(estimator, metrics, found)
    return {"start": part.since.isoformat(), "end": part.until.isoformat(), **result}


def _recent(
    version: ModelVersion,
    period: Period,
    estimator: Calibration | ErrorModel,
    metrics: Sequence[str],
) -> dict[str, Any]:
    since = max(period.since, period.until - dt.timedelta(days=RECENT_DAYS))
    part = replace(period, since=since)
    key = (
        f"monitoring-estimate-recent:{version.pk}:{version.created_at.timestamp()}:"
        f"{','.join(metrics)}:{','.join(sorted(part.sources))}:{':'.join(part.segment or ())}:"
        f"{since.isoformat()[:13]}:{part.until.isoformat()[:13]}"
    )
    found = caches["monitoring"].get(key)
    if found is None:
        found = _window(version, part, estimator, metrics, RECENT_ROWS)
        caches["monitoring"].set(key, found, STATUS_SECONDS)
    return found


def monitoring_estimated_recent(*, version: ModelVersion, period: Period) -> dict[str, Any] | None:
    """The headline estimate (accuracy or MAE) over the last ``RECENT_DAYS`` days of
    ``period`` alone, as an alert needs it: ``{"metric", "rows", "estimate", "low", "high",
    "realized", "labelled"}``, ``None`` as :func:`monitoring_estimated_performance`. No
    window series and no second metric (their label draws are most of the cost)."""
    estimator = performance_estimator(version)
    if estimator is None:
        return None
    metric = "mae" if isinstance(estimator, ErrorModel) else "accuracy"
    recent = _recent(version, period, estimator, [metric])
    return {"metric": metric, "rows": recent["rows"], **recent["figures"][metric]}


def _span(days: float) -> str:
    if days >= 1.5:
        return f"over the last {round(days)} days"
    hours = max(1, round(days * 24))
    return f"over the last {hours} hour{'s' if hours != 1 else ''}"


def _number(value: float) -> str:
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def estimated_summary(
    *,
    method: str,
    metric: str,
    recent: Mapping[str, Any],
    reference: float | None,
    days: float,
    unit: str | None = None,
) -> str:
    """One sentence a business user reads: the recent estimate, its likely range and the
    reference, and whether the difference is more than chance."""
    span = _span(days)
    if recent.get("estimate") is None:
        return (
            f"Not enough answers {span} to estimate performance "
            f"(at least {MIN_PERIOD_ROWS} are needed)."
        )
    low, high, value = recent["low"], recent["high"], recent["estimate"]
    if method == "CBPE":
        text = (
            f"Without waiting for outcomes: {span} the model is expected to be right "
            f"{value:.0%} of the time (likely {low:.0%}–{high:.0%})"
            if metric == "accuracy"
            else f"Without waiting for outcomes: {span} the expected {metric} is "
            f"{value:.2f} (likely {low:.2f}–{high:.2f})"
        )
        if reference is not None:
            text += f", against {reference:.0%} on its reference data"
            if high < reference:
                text += f": about {(reference - value) * 100:.0f} points worse"
            elif low > reference:
                text += ": better than on its reference data"
        return text + "."
    units = f" {unit}" if unit else ""
    text = (
        f"Without waiting for outcomes: {span} the answers are expected to be off by "
        f"{_number(value)}{units} on average (likely {_number(low)}–{_number(high)})"
    )
    if reference:
        text += f", against {_number(reference)} on its reference data"
        change = value / reference - 1
        if low > reference:
            text += f": errors up {change:.0%}"
        elif high < reference:
            text += f": errors down {-change:.0%}"
    return text + "."
