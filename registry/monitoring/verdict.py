"""The verdict: one sentence a business user acts on, and the badge the catalog shows.

Performance leads: a model whose inputs moved but whose answers are as good as in training
needs no action, and one whose errors doubled does, whatever its drift tests say. The
recent figure (the last ``RECENT_DAYS`` days) comes from feedback when enough answers have
it, else from the estimate without feedback; it is called worse only when its 95% interval
lies beyond the reference on the worse side *and* the change is large enough to matter
(``MATERIAL_RELATIVE`` of the error, ``MATERIAL_POINTS`` of accuracy). The pure functions
here only word and judge; the figures come from the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

# A change smaller than this is not worth a person's attention, however certain.
MATERIAL_RELATIVE = 0.10
MATERIAL_POINTS = 0.03
# Answers with feedback needed in the recent window before feedback is trusted over the
# estimate: 30 outcomes pin an accuracy near 85% to about ±13 points, the least that tells a
# collapse from noise.
MIN_RECENT_LABELLED = 30
LOWER_IS_BETTER = ("mae",)


def _fmt(value: float, metric: str) -> str:
    if metric in LOWER_IS_BETTER:
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:.0%}"


def performance_judgement(
    *,
    metric: str,
    reference: float | None,
    value: float | None,
    low: float | None,
    high: float | None,
    labelled: int = 0,
    estimated: bool = False,
) -> dict[str, Any] | None:
    """How a recent figure stands against the reference: ``{"metric", "value", "low", "high",
    "reference", "change", "worse", "better", "estimated", "labelled"}``; ``None`` without a
    figure or a reference. ``change`` is relative for an error, in points for a share."""
    if value is None or reference is None or low is None or high is None:
        return None
    lower = metric in LOWER_IS_BETTER
    if lower:
        change = value / reference - 1 if reference else 0.0
        worse = low > reference and change >= MATERIAL_RELATIVE
        better = high < reference and -change >= MATERIAL_RELATIVE
    else:
        change = value - reference
        worse = high < reference and -change >= MATERIAL_POINTS
        better = low > reference and change >= MATERIAL_POINTS
    return {
        "metric": metric,
        "value": value,
        "low": low,
        "high": high,
        "reference": reference,
        "change": change,
        "worse": bool(worse),
        "better": bool(better),
        "estimated": estimated,
        "labelled": labelled,
    }


def _performance_words(judged: Mapping[str, Any], span: str) -> str:
    metric, value, reference = judged["metric"], judged["value"], judged["reference"]
    shown, was = _fmt(value, metric), _fmt(reference, metric)
    expected = "expected " if judged["estimated"] else ""
    how = "; estimated, no outcomes yet" if judged["estimated"] else ""
    if metric in LOWER_IS_BETTER:
        if judged["worse"]:
            return f"Errors {expected}up {judged['change']:.0%} {span} ({shown} vs {was}{how})"
        if judged["better"]:
            return f"Errors {expected}down {-judged['change']:.0%} {span} ({shown} vs {was}{how})"
        return f"errors {span} as in training ({shown} vs {was}{how})"
    name = "accuracy" if metric == "accuracy" else metric.replace("_", " ")
    if judged["worse"]:
        points = -judged["change"] * 100
        return (
            f"{name.capitalize()} {expected}down {points:.0f} points {span} ({shown} vs {was}{how})"
        )
    if judged["better"]:
        points = judged["change"] * 100
        return (
            f"{name.capitalize()} {expected}up {points:.0f} points {span} ({shown} vs {was}{how})"
        )
    return f"{name} {span} as in training ({shown} vs {was}{how})"


def drift_words(inputs: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> str | None:
    """What moved, in words: the most certain drifted input and which way, then how many
    more (``None`` when nothing drifted)."""
    drifted = [r for r in inputs if r.get("drifted")]
    if not drifted:
        return None
    first = drifted[0]
    label = labels.get(first["input"]) or first["input"]
    how = input_change_words(first)
    words = (
        f"a different mix of {label} than in training"
        if how.startswith("a different mix")
        else f"recent {label} {how}"
    )
    if first.get("unseen"):
        words += f" (new values: {', '.join(map(str, first['unseen'][:3]))})"
    more = len(drifted) - 1
    if more:
        words += f", and {more} more input{'s' if more > 1 else ''} changed"
    return words


def verdict(
    *,
    drift: Mapping[str, Any],
    judged: Mapping[str, Any] | None,
    labels: Mapping[str, str],
    span: str = "over the last 7 days",
) -> dict[str, Any]:
    """``{"level", "sentence", "badge"}``: ``level`` is ``worse`` (performance), ``drift``,
    ``ok`` or ``not_enough_data``; the sentence leads with what to act on."""
    moved = drift_words(drift.get("inputs", []), labels)
    enough = drift.get("status") != "not_enough_data"
    if judged and judged["worse"]:
        sentence = _performance_words(judged, span)
        if moved:
            sentence += f"; {moved}"
        metric = judged["metric"]
        expected = "expected " if judged["estimated"] else ""
        badge = (
            f"errors {expected}up {judged['change']:.0%}"
            if metric in LOWER_IS_BETTER
            else f"{metric.replace('_', ' ')} {expected}down {-judged['change'] * 100:.0f} pts"
        )
        return {"level": "worse", "sentence": sentence + ".", "badge": badge}
    if not enough:
        sentence = (
            f"Too little traffic to judge the inputs: {drift.get('rows', 0)} answers in this "
            f"period ({drift.get('min_rows')} are needed to compare them with training)"
        )
        if judged:
            sentence += f"; {_performance_words(judged, span)}"
        return {"level": "not_enough_data", "sentence": sentence + ".", "badge": "not enough data"}
    if moved:
        if judged:
            tail = f"the answers are still as good: {_performance_words(judged, span)}"
        else:
            tail = "no outcomes or estimate yet to tell whether the answers got worse"
        count = drift.get("drifted") or 1
        return {
            "level": "drift",
            "sentence": f"Inputs changed: {moved}; {tail}.",
            "badge": f"drift in {count} input{'s' if count > 1 else ''}",
        }
    if judged:
        sentence = f"Working as in training: {_performance_words(judged, span)}"
        return {
            "level": "ok",
            "sentence": sentence + "; inputs look like the training data.",
            "badge": "ok",
        }
    return {
        "level": "ok",
        "sentence": "Inputs look like the training data; no outcomes yet to measure the answers.",
        "badge": "ok",
    }


def recent_figure(
    *,
    feedback: Mapping[str, Any] | None,
    estimated: Mapping[str, Any] | None,
    metric: str,
    reference: float | None,
) -> dict[str, Any] | None:
    """The recent performance to judge: from feedback when at least ``MIN_RECENT_LABELLED``
    answers have it (``feedback``: ``{"value", "interval", "labelled"}``), else the estimate
    without it (``estimated``: ``{"estimate", "low", "high"}``), judged against
    ``reference``."""
    if (
        feedback
        and feedback.get("value") is not None
        and feedback.get("interval")
        and feedback.get("labelled", 0) >= MIN_RECENT_LABELLED
    ):
        low, high = feedback["interval"]
        return performance_judgement(
            metric=metric,
            reference=reference,
            value=feedback["value"],
            low=low,
            high=high,
            labelled=feedback["labelled"],
        )
    if estimated and estimated.get("estimate") is not None:
        return performance_judgement(
            metric=metric,
            reference=reference,
            value=estimated["estimate"],
            low=estimated["low"],
            high=estimated["high"],
            estimated=True,
        )
    return None


def normal_interval(scores: Sequence[float] | np.ndarray) -> tuple[float, float] | None:
    """mean ± 1.96 standard errors of per-row scores (the badges' quick interval)."""
    values = np.asarray(scores, dtype="float64")
    if values.size < 2:
        return None
    half = 1.959964 * float(values.std(ddof=1)) / np.sqrt(values.size)
    return float(values.mean() - half), float(values.mean() + half)


def input_change_words(result: Mapping[str, Any]) -> str:
    """How one input moved against training, in words ("higher than in training", "a
    different mix", "no change seen", "not tested")."""
    if result.get("adjusted_p") is None:
        return "not tested yet"
    if not result.get("drifted"):
        return "no change seen"
    effect = result.get("effect")
    if result.get("type") in ("number", "integer") and effect:
        return f"{'higher' if effect > 0 else 'lower'} than in training"
    if result.get("type") == "boolean" and effect:
        return f"yes {'more' if effect > 0 else 'less'} often than in training"
    return "a different mix than in training"
