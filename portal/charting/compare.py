"""Figures of a comparison: the same rows through several models, and the reference data.

The compare page and ``POST /api/v1/compare/`` draw their answer figure here, so one set of
rows gives one figure on both faces: one row is a bar per model (its value, or its class
probabilities), several rows are grouped bars per row (values) or the mean probability of
each class per model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import charts.compare
import charts.evaluation
from charts import Figure


def mean_probabilities(predictions: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Each class's mean probability over the rows (a label-only model counts its labels)."""
    totals: dict[str, float] = {}
    for p in predictions:
        probabilities = p.get("probabilities") or {str(p["label"]): 1.0}
        for label, value in probabilities.items():
            totals[str(label)] = totals.get(str(label), 0.0) + value / len(predictions)
    return totals


def comparison_answer_figure(
    names: Sequence[str], answers: Sequence[Sequence[Mapping[str, Any]]], output: Mapping
) -> Figure:
    """The answers of several models to the same rows; ``answers[i]`` are ``names[i]``'s."""
    rows = len(answers[0])
    if output["task"] == "regression":
        target = output.get("target") or "prediction"
        if rows == 1:
            return charts.compare.model_values(
                names, [a[0]["value"] for a in answers], target=target, unit=output.get("unit")
            )
        return charts.compare.compare_values(
            names,
            [[p["value"] for p in a] for a in answers],
            target=target,
            unit=output.get("unit"),
        )
    return charts.compare.compare_probabilities(
        names,
        [mean_probabilities(a) for a in answers],
        heading="Class probabilities by model" + (f" (mean of {rows} rows)" if rows > 1 else ""),
    )


def comparison_sensitivity_figure(
    series: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    y_label: str,
    y_range: Sequence[float] | None,
    labels: Mapping[str, str],
    columns: int,
) -> Figure:
    """Each input's sensitivity curve, one line per model, in small multiples."""
    return charts.compare.sensitivity_by_model(
        series, y_label=y_label, y_range=y_range, labels=labels, columns=columns
    )


def reference_figures(result: Any, shown: Mapping[str, str]) -> dict[str, Figure]:
    """Each model's evaluation on the shared reference rows, overlaid (``result`` is a
    ``registry.compare.comparison.ReferenceComparison``)."""
    evaluation = result.evaluation
    figures: dict[str, Figure] = {}
    if result.task == "classification":
        roc = {shown[lb]: evaluation[lb].get("roc") or [] for lb in result.labels}
        pr = {shown[lb]: evaluation[lb].get("precision_recall") or [] for lb in result.labels}
        if any(roc.values()):
            figures["roc"] = charts.compare.roc_by_model(roc)
            figures["pr"] = charts.compare.precision_recall_by_model(pr)
    else:
        figures["pva"] = charts.evaluation.predicted_vs_actual_by_model(
            {shown[lb]: evaluation[lb]["predicted_vs_actual"] for lb in result.labels},
            target=result.target,
        )
        figures["residuals"] = charts.evaluation.residuals_by_model(
            {shown[lb]: evaluation[lb]["residuals"] for lb in result.labels},
            target=result.target,
        )
    return figures


def disagreement_figure(pair: Any, shown: Mapping[str, str], *, target: str) -> Figure:
    """Where two models disagree on the reference rows (a ``Disagreement``)."""
    if pair.task == "classification":
        return charts.compare.agreement_matrix(
            pair.labels, pair.matrix, a=shown[pair.a], b=shown[pair.b]
        )
    return charts.compare.prediction_scatter(
        pair.a_values, pair.b_values, a=shown[pair.a], b=shown[pair.b], target=target
    )
