"""Figures of the model card: a version's evaluation on its reference rows."""

from __future__ import annotations

import charts
from charts import Figure
from portal.charting.predict import input_labels
from registry.models import ModelVersion


def evaluation_figures(version: ModelVersion) -> dict[str, Figure]:
    """The model card's evaluation graphs, from what registration computed."""
    evaluation = version.evaluation or {}
    target = version.interface["output"].get("target") or "prediction"
    figures: dict[str, Figure] = {}
    # No bar chart of the metrics: the card's table beside it says the same, with words.
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
        figures["importance"] = charts.feature_importance(
            evaluation["importance"],
            scoring=evaluation.get("importance_scoring", "score"),
            labels=input_labels(version),
        )
    return figures
