"""From registry results to chart figures: the one place pages and the API both draw from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import charts
from charts import Figure
from registry.models import BatchJob, ModelVersion
from registry.selectors import version_interface


def _reference_targets(version: ModelVersion) -> list[float]:
    target = version.interface["output"].get("target")
    return [row[target] for row in version.reference_sample if row.get(target) is not None]


def answer_figure(version: ModelVersion, predictions: Sequence[dict[str, Any]]) -> Figure:
    """The figure of an answer: class probabilities, or values on the target's distribution."""
    output = version.interface["output"]
    if output["task"] == "regression":
        return charts.value_on_distribution(
            [p["value"] for p in predictions],
            reference=_reference_targets(version),
            target=output.get("target") or "prediction",
            unit=output.get("unit"),
        )
    if "probabilities" not in predictions[0]:
        counts: dict[str, float] = {}
        for p in predictions:
            counts[str(p["label"])] = counts.get(str(p["label"]), 0) + 1 / len(predictions)
        return charts.class_probabilities(
            counts, predicted=str(predictions[0]["label"]), heading="Share of rows per class"
        )
    if len(predictions) == 1:
        return charts.class_probabilities(
            predictions[0]["probabilities"], predicted=str(predictions[0]["label"])
        )
    shown = predictions[:50]
    return charts.class_probabilities_rows(
        [str(c) for c in output["classes"]],
        [p["probabilities"] for p in shown],
        labels=[str(p["label"]) for p in shown],
    )


def _labels(version: ModelVersion) -> dict[str, str]:
    """Each input's label, as the interface names it to people."""
    return {f.name: f.spec.get("label") or f.name for f in version_interface(version).fields}


def focus_of(version: ModelVersion, prediction: dict[str, Any]) -> str | None:
    """The class whose probability sensitivity charts follow: the one predicted."""
    if version.interface["output"]["task"] != "classification":
        return None
    return str(prediction.get("label"))


def curves_with_y(curves: Sequence[dict[str, Any]], focus: str | None) -> list[dict[str, Any]]:
    """Sweep curves with one number per point: the focus class's probability, or the value."""
    result = []
    for curve in curves:
        points = curve["predictions"]
        if focus is not None and points and isinstance(points[0], dict):
            y = [p.get(focus, 0.0) for p in points]
        else:
            y = list(points)
        result.append({**curve, "y": y})
    return result


def sensitivity_figure(
    version: ModelVersion, curves: Sequence[dict[str, Any]], *, focus: str | None
) -> Figure:
    """Small multiples of how the answer moves with each input."""
    interface = version_interface(version)
    labels = {f.name: f.spec.get("label") or f.name for f in interface.fields}
    if focus is not None:
        return charts.sensitivity(
            {"answer": curves_with_y(curves, focus)},
            y_label=f"P({focus})",
            y_range=[0, 1],
            labels=labels,
        )
    target = version.interface["output"].get("target") or "prediction"
    return charts.sensitivity(
        {"answer": curves_with_y(curves, None)}, y_label=target, labels=labels
    )


def heatmap_figure(grid: dict[str, Any], current: tuple[Any, Any] | None = None) -> Figure:
    return charts.heatmap(
        x=grid["x"],
        y=grid["y"],
        x_values=grid["x_values"],
        y_values=grid["y_values"],
        z=grid["z"],
        z_label=grid["z_label"],
        current=current,
    )


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
            labels=_labels(version),
        )
    return figures


def job_figures(job: BatchJob) -> dict[str, Figure]:
    """A finished batch job's graphs, from its summary: the distribution of the predicted
    values (or the count of each class), and the prediction against each top input."""
    summary, output = job.summary or {}, job.version.interface["output"]
    target = output.get("target") or "prediction"
    figures: dict[str, Figure] = {}
    if "class_counts" in summary:
        figures["distribution"] = charts.class_counts(summary["class_counts"])
    elif summary.get("values"):
        figures["distribution"] = charts.value_histogram(
            summary["values"], target=target, unit=output.get("unit")
        )
    sample = summary.get("sample") or {}
    if sample.get("inputs") and sample.get("prediction"):
        n = len(sample["prediction"])
        labels = _labels(job.version)
        figures["by_input"] = charts.prediction_by_input(
            {labels.get(k, k): v[:n] for k, v in sample["inputs"].items()},
            sample["prediction"],
            target=target,
        )
    return figures
