"""Reads of a release: what ``GET /api/v1/models/{name}/release/`` answers and the card shows.

Everything here reads stored rows: the comparison of a shadow from its ``ShadowAnswer`` links
(the newest ``MAX_COMPARED``), performance from feedback on the champion's answers, each
side scored on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import QuerySet, Sum

from registry.catalog.selectors import CHAMPION
from registry.models import (
    Alias,
    Canary,
    Prediction,
    Promotion,
    PromotionState,
    RegisteredModel,
    Shadow,
    ShadowAnswer,
    Source,
    Usage,
)
from registry.releases import stats

MAX_COMPARED = 5000
MAX_DISAGREEMENTS = 5


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None}
    p50, p99 = np.percentile(values, [50, 99])
    return {"p50": round(float(p50), 3), "p99": round(float(p99), 3)}


def _row_scores(outputs: list[dict[str, Any]], actual: Any, classifier: bool) -> list[float]:
    """Per row: 1/0 correct (classifiers) or the absolute error (regressors)."""
    actuals = actual if isinstance(actual, list) else [actual]
    scores = []
    for output, truth in zip(outputs, actuals, strict=False):
        if classifier:
            scores.append(1.0 if str(output.get("label")) == str(truth) else 0.0)
        else:
            scores.append(abs(float(output["value"]) - float(truth)))
    return scores


@dataclass(frozen=True)
class Pair:
    """What the comparison reads of one shadowed answer: no answer's JSON."""

    id: int
    created_at: Any
    rows: int
    agreed: int
    differences: list[float]
    sampled: bool
    answer_id: Any
    champion_id: Any
    champion_ms: float
    shadow_ms: float | None


def shadow_pairs(*, shadow: Shadow) -> list[Pair]:
    """The newest answers of a shadow (at most ``MAX_COMPARED``), each with both sides'
    answer times; the answers themselves are read only for the disagreements shown."""
    found = (
        ShadowAnswer.objects.filter(shadow=shadow)
        .order_by("-created_at")
        .values_list(
            *("pk", "created_at", "rows", "agreed", "differences", "sampled", "answer_id"),
            *("champion_id", "champion__latency_ms", "answer__latency_ms"),
        )[:MAX_COMPARED]
    )
    return [Pair(*row) for row in found]


def shadow_performance(*, shadow: Shadow) -> stats.Paired | None:
    """Each side's accuracy (or MAE) on the same rows, where the champion's answer has
    feedback, and the paired difference: read from those answers alone (few, and indexed)."""
    classifier = shadow.model.task == "classification"
    labelled = (
        ShadowAnswer.objects.filter(shadow=shadow, answer__isnull=False)
        .filter(champion__feedback__isnull=False)
        .order_by("-created_at")
        .values_list("champion__outputs", "answer__outputs", "champion__feedback")[:MAX_COMPARED]
    )
    champion_scores: list[float] = []
    shadow_scores: list[float] = []
    for mine_out, theirs_out, actual in labelled:
        mine = _row_scores(mine_out, actual, classifier)
        theirs = _row_scores(theirs_out, actual, classifier)
        n = min(len(mine), len(theirs))
        champion_scores += mine[:n]
        shadow_scores += theirs[:n]
    return stats.paired_performance(
        "accuracy" if classifier else "mae",
        champion_scores,
        shadow_scores,
        higher_is_better=classifier,
    )


def shadow_report(*, shadow: Shadow) -> dict[str, Any]:
    """How a shadow compares with the champion answers it shadowed (API.md's ``shadow``)."""
    classifier = shadow.model.task == "classification"
    pairs = list(shadow_pairs(shadow=shadow))
    compared = [p for p in pairs if p.answer_id is not None]
    report: dict[str, Any] = {
        "version": shadow.version.number,
        "share": shadow.share,
        "since": shadow.since.isoformat(),
        "ended_at": shadow.ended_at.isoformat() if shadow.ended_at else None,
        "calls": ShadowAnswer.objects.filter(shadow=shadow).count(),
        "compared": len(compared),
        "failed": sum(1 for p in pairs if p.answer_id is None and p.sampled),
    }
    rows = sum(p.rows for p in compared)
    if classifier:
        report["agreement"] = round(sum(p.agreed for p in compared) / rows, 6) if rows else None
    else:
        diffs = [d for p in compared for d in p.differences]
        report["value_difference"] = {
            "mean": round(float(np.mean(diffs)), 6) if diffs else None,
            "p95": round(float(np.percentile(diffs, 95)), 6) if diffs else None,
        }
    report["latency_ms"] = {
        "champion": _percentiles([p.champion_ms for p in compared]),
        "shadow": _percentiles([p.shadow_ms for p in compared]),
    }
    paired = shadow_performance(shadow=shadow)
    report["performance"] = paired.as_dict() if paired else None
    report["verdict"] = stats.verdict(paired)
    report["disagreements"] = _disagreements(compared, classifier)
    report["series"] = _series(compared, classifier)
    return report


def _disagreements(compared: list[Pair], classifier: bool) -> list[dict[str, Any]]:
    """A few rows where the two sides answered differently (the largest differences for a
    regressor), with the inputs: only those few answers are read."""
    if classifier:
        chosen = [p for p in compared if p.agreed < p.rows][:MAX_DISAGREEMENTS]
    else:
        chosen = sorted(compared, key=lambda p: -max(p.differences, default=0.0))
        chosen = chosen[:MAX_DISAGREEMENTS]
    answers = {
        pk: (champion_outputs, inputs, shadow_outputs)
        for pk, champion_outputs, inputs, shadow_outputs in ShadowAnswer.objects.filter(
            pk__in=[p.id for p in chosen]
        ).values_list("pk", "champion__outputs", "champion__inputs", "answer__outputs")
    }
    found: list[tuple[float, dict[str, Any]]] = []
    for pair in chosen:
        champion_outputs, inputs, shadow_outputs = answers[pair.id]
        for i, (mine, theirs) in enumerate(zip(champion_outputs, shadow_outputs, strict=False)):
            if classifier:
                if mine.get("label") == theirs.get("label"):
                    continue
                size = 1.0
            else:
                size = abs(float(mine["value"]) - float(theirs["value"]))
            found.append(
                (
                    size,
                    {
                        "prediction": str(pair.champion_id),
                        "row": i,
                        "inputs": inputs[i] if i < len(inputs) else {},
                        "champion": mine,
                        "shadow": theirs,
                    },
                )
            )
    found.sort(key=lambda item: -item[0])
    return [item for _, item in found[:MAX_DISAGREEMENTS]]


def _series(compared: list[Pair], classifier: bool) -> list[dict[str, Any]]:
    """Per hour: answers compared and agreement (classifiers) or mean difference."""
    buckets: dict[str, list[Pair]] = {}
    for pair in compared:
        key = pair.created_at.replace(minute=0, second=0, microsecond=0).isoformat()
        buckets.setdefault(key, []).append(pair)
    series = []
    for start in sorted(buckets):
        group = buckets[start]
        rows = sum(p.rows for p in group)
        item: dict[str, Any] = {"start": start, "compared": len(group)}
        if classifier:
            item["agreement"] = sum(p.agreed for p in group) / rows if rows else None
        else:
            diffs = [d for p in group for d in p.differences]
            item["mean_difference"] = float(np.mean(diffs)) if diffs else None
        series.append(item)
    return series


def canary_report(*, canary: Canary) -> dict[str, Any]:
    """A canary's state (API.md's ``canary``), counts since it started."""
    from_counts = canary_counts(canary=canary)
    return {
        "version": canary.version.number,
        "percent": canary.percent,
        "sticky": canary.sticky,
        "since": canary.since.isoformat(),
        "calls": from_counts.calls,
        "errors": from_counts.errors,
        "champion": {"calls": from_counts.champion_calls, "errors": from_counts.champion_errors},
        "ended": canary.ended_reason or None if canary.ended_at else None,
        "ended_at": canary.ended_at.isoformat() if canary.ended_at else None,
    }


def promotion_list(*, model: RegisteredModel, pending: bool = True) -> QuerySet[Promotion]:
    """A model's promotion requests, newest first (only the pending ones by default)."""
    found = Promotion.objects.filter(model=model).select_related(
        "version", "requested_by", "decided_by"
    )
    return found.filter(state=PromotionState.PENDING) if pending else found


def promotion_get(*, model: RegisteredModel, id: int) -> Promotion:
    """One promotion request of ``model``; raises ``DoesNotExist`` with a message."""
    try:
        return promotion_list(model=model, pending=False).get(pk=id)
    except Promotion.DoesNotExist:
        raise Promotion.DoesNotExist(f"{model.name} has no promotion request {id}.") from None


def promotion_dict(promotion: Promotion) -> dict[str, Any]:
    return {
        "id": promotion.pk,
        "version": promotion.version.number,
        "alias": promotion.alias,
        "state": promotion.state,
        "comment": promotion.comment,
        "requested_by": promotion.requested_by.username if promotion.requested_by else None,
        "requested_at": promotion.requested_at.isoformat(),
        "decided_by": promotion.decided_by.username if promotion.decided_by else None,
        "decision_comment": promotion.decision_comment,
        "decided_at": promotion.decided_at.isoformat() if promotion.decided_at else None,
    }


def release_report(*, model: RegisteredModel) -> dict[str, Any]:
    """The release state of a model: champion, live shadow and canary, pending requests."""
    champion = (
        Alias.objects.filter(model=model, name=CHAMPION)
        .values_list("version__number", flat=True)
        .first()
    )
    shadow = Shadow.objects.filter(model=model, ended_at=None).select_related("version").first()
    canary = Canary.objects.filter(model=model).select_related("version").first()
    return {
        "model": model.name,
        "champion": champion,
        "requires_approval": model.requires_approval,
        "shadow": shadow_report(shadow=shadow) if shadow else None,
        "canary": canary_report(canary=canary) if canary else None,
        "promotions": [promotion_dict(p) for p in promotion_list(model=model)],
    }


ANSWERING = (Source.API, Source.BATCH)


def _side_counts(version_id: int, since, classifier: bool) -> tuple[int, int, list[float]]:
    """Answers, refused calls and per-row feedback scores of a version since ``since``."""
    answers = Prediction.objects.filter(
        version_id=version_id, source__in=ANSWERING, created_at__gte=since
    )
    refused = (
        Usage.objects.filter(
            version_id=version_id,
            day__gte=since.date(),
            kind__in=[f"refused.{s}" for s in ANSWERING],
        ).aggregate(n=Sum("count"))["n"]
        or 0
    )
    scores: list[float] = []
    for outputs, actual in answers.filter(feedback__isnull=False).values_list(
        "outputs", "feedback"
    )[:MAX_COMPARED]:
        scores += _row_scores(outputs, actual, classifier)
    calls = answers.count()
    return calls + refused, refused, scores


def canary_counts(*, canary: Canary) -> stats.CanaryCounts:
    """Calls, failed (refused) calls and feedback of the canary and of the champion since
    the canary started. Refusals are counted per day (``Usage``), from the canary's first."""
    classifier = canary.model.task == "classification"
    calls, errors, outcomes = _side_counts(canary.version_id, canary.since, classifier)
    champion = (
        Alias.objects.filter(model_id=canary.model_id, name=CHAMPION)
        .values_list("version_id", flat=True)
        .first()
    )
    if champion is None:
        champion_calls, champion_errors, champion_outcomes = 0, 0, []
    else:
        champion_calls, champion_errors, champion_outcomes = _side_counts(
            champion, canary.since, classifier
        )
    return stats.CanaryCounts(
        calls=calls,
        errors=errors,
        champion_calls=champion_calls,
        champion_errors=champion_errors,
        outcomes=outcomes,
        champion_outcomes=champion_outcomes,
        higher_is_better=classifier,
    )
