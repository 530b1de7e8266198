"""The dossier's figures, as vector SVG: the card's own figures (``charts`` builders) drawn
by ``charts.svg`` without a browser."""

from __future__ import annotations

from typing import Any

import charts
from charts.dossier import mean_abs_effects
from charts.svg import to_svg
from portal.charting.fairness import fairness_figures


def _evaluation(content: dict[str, Any]) -> dict[str, Any]:
    evaluation = content["evaluation"]
    target = content["interface"]["output"].get("target") or "prediction"
    labels = {i["name"]: i["label"] for i in content["interface"]["inputs"]}
    figures = {}
    if "confusion_matrix" in evaluation:
        cm = evaluation["confusion_matrix"]
        figures["confusion"] = charts.confusion_matrix(cm["labels"], cm["matrix"])
    if evaluation.get("roc"):
        figures["roc"] = charts.roc_curves(evaluation["roc"])
    if evaluation.get("precision_recall"):
        figures["pr"] = charts.precision_recall(evaluation["precision_recall"])
    if "predicted_vs_actual" in evaluation:
        pva = evaluation["predicted_vs_actual"]
        figures["pva"] = charts.predicted_vs_actual(pva["actual"], pva["predicted"], target=target)
        figures["residuals"] = charts.residuals(evaluation["residuals"], target=target)
    if evaluation.get("importance"):
        figures["permutation"] = charts.feature_importance(
            evaluation["importance"],
            scoring=evaluation.get("importance_scoring", "score"),
            labels=labels,
        )
    return figures


def dossier_figures(content: dict[str, Any]) -> dict[str, Any]:
    """``{"evaluation": {name: svg}, "importance": svg | None, "fairness": {input: {name:
    svg}}}`` for the dossier's template."""
    importance = content.get("importance")
    fairness = content.get("fairness")
    return {
        "evaluation": {k: to_svg(f) for k, f in _evaluation(content).items()},
        "importance": to_svg(
            mean_abs_effects(importance["items"], probability=importance["probability"]),
            height=90 + 24 * min(15, len(importance["items"])),
        )
        if importance and importance["items"]
        else None,
        "fairness": {
            charted["input"]: {k: to_svg(f, height=260) for k, f in charted["figures"].items()}
            for charted in (fairness_figures(fairness) if fairness else [])
        },
    }
