"""Figures of the catalog: a version's evaluation on its card, every model on the dashboard."""

from __future__ import annotations

from typing import Any

import charts
from charts import Figure
from portal.charting.predict import input_labels
from registry.catalog.metrics import METRICS, metric_label
from registry.models import ModelVersion


def evaluation_figures(version: ModelVersion) -> dict[str, Figure]:
    """The model card's evaluation graphs, from what registration computed."""
    return evaluation_figures_of(
        version.evaluation or {},
        target=version.interface["output"].get("target") or "prediction",
        labels=input_labels(version),
    )


def evaluation_figures_of(
    evaluation: dict[str, Any], *, target: str, labels: dict[str, str]
) -> dict[str, Figure]:
    """The evaluation graphs of a version's stored ``evaluation`` (the card's and the
    dossier's); ``labels`` name the inputs as people know them."""
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
            scoring=metric_label(evaluation.get("importance_scoring", "score")),
            labels=labels,
        )
    return figures


def headline_figure(headlines: list[dict[str, Any]]) -> Figure | None:
    """Each champion's headline metric (``{"model", "key", "value"}``), on its metric's scale."""
    if not headlines:
        return None
    return charts.headline_metrics(
        [
            {
                **h,
                "metric": metric_label(h["key"]),
                "scale": METRICS[h["key"]].scale if h["key"] in METRICS else "",
            }
            for h in headlines
        ]
    )


def usage_figure(usage: dict[str, list], *, days: list) -> Figure:
    """Answers per day for each model (named as people know it)."""
    return charts.usage_per_day(usage, days=days)
