"""Figures of answers: an answer, its sensitivity curves and its two-input heatmap.

``portal.charting`` is the one place figures are built from registry results: pages, the API
and ``/v2/`` all draw from it, one module per capability.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import charts
from charts import Figure
from registry.inference import followed_class
from registry.models import ModelVersion
from registry.runtime import version_interface


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


def input_labels(version: ModelVersion) -> dict[str, str]:
    """Each input's label, as the interface names it to people."""
    return {f.name: f.spec.get("label") or f.name for f in version_interface(version).fields}


def labelled_warnings(version: ModelVersion, warnings: list[dict[str, Any]]) -> list[dict]:
    """Stored warnings (``field``, ``message``, maybe ``row``), each with its input's label."""
    labels = input_labels(version)
    return [{**w, "label": labels.get(w.get("field"), w.get("field"))} for w in warnings]


def focus_of(version: ModelVersion, prediction: dict[str, Any]) -> str | None:
    """The class whose probability an answer's curves and explanation follow (none for a
    regressor): :func:`registry.inference.followed_class` with nothing asked."""
    return class_followed(version, None, predicted=prediction.get("label"))


def class_choices(version: ModelVersion) -> list[str]:
    """The classes a person can follow in the what-if curves (none for a regressor)."""
    output = version.interface["output"]
    if output["task"] != "classification":
        return []
    return [str(c) for c in output.get("classes") or []]


def class_followed(version: ModelVersion, chosen: str | None, predicted: Any = None) -> str | None:
    """The class whose probability the curves and the explanation show: the one the person
    picked, else the positive class of a binary classifier, else the predicted class (None
    until known). A binary classifier's curves hold still when the answer crosses the
    boundary; a person's pick holds for every class count."""
    classes = class_choices(version)
    if not classes:
        return None
    return followed_class(classes, chosen, predicted)


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
    version: ModelVersion,
    curves: Sequence[dict[str, Any]],
    *,
    focus: str | None,
    columns: int = 3,
    panels: Sequence[str] | None = None,
) -> Figure:
    """Small multiples of how the answer moves with each input (or only ``panels``, in that
    order; the value axis is still set by every curve, so split figures share one scale).

    The value axis is fixed for a version (0 to 100% for a classifier; for a regressor the range
    of the target in the reference data, widened only if a curve leaves it), so a redraw moves
    the curves, not the axes, and a page can update the figure in place.
    """
    labels = input_labels(version)
    shown = curves
    if panels is not None:
        by_feature = {c["feature"]: c for c in curves}
        shown = [by_feature[name] for name in panels if name in by_feature]
    if focus is not None:
        return charts.sensitivity(
            {"answer": curves_with_y(shown, focus)},
            y_label=f"P({focus})",
            y_range=[0, 1],
            labels=labels,
            columns=columns,
        )
    target = version.interface["output"].get("target") or "prediction"
    y_range = value_range(version, [curves_with_y(curves, None)])
    return charts.sensitivity(
        {"answer": curves_with_y(shown, None)},
        y_label=target,
        y_range=y_range,
        labels=labels,
        columns=columns,
    )


def value_range(
    version: ModelVersion, curve_sets: Sequence[Sequence[dict[str, Any]]]
) -> list[float] | None:
    """A regressor's value axis for sweep curves (each with ``y``): the range of the target in
    ``version``'s reference data, widened only where a curve leaves it. The same for most
    redraws, so a page updates the panels in place instead of redrawing their axes."""
    ys = [v for curves in curve_sets for c in curves for v in c["y"] if v is not None]
    ys += _reference_targets(version)
    if not ys:
        return None
    low, high = min(ys), max(ys)
    pad = (high - low) * 0.08 or abs(high) * 0.05 or 1
    return [low - pad, high + pad]


def sensitivity_panels(version: ModelVersion, *, first: int) -> tuple[list[str], list[str]]:
    """The inputs whose sensitivity panels a page shows at once (the ``first`` that move the
    answers most) and those it shows on demand; all at once when few would wait."""
    ranked = inputs_by_importance(version)
    if len(ranked) - first <= 3:  # not worth a second figure
        return ranked, []
    return ranked[:first], ranked[first:]


def inputs_by_importance(version: ModelVersion) -> list[str]:
    """The version's inputs, those that move its answers most first (permutation importance
    measured at registration; the interface's order where there is none)."""
    names = version_interface(version).names
    measured = {
        item["feature"]: item["mean"] for item in (version.evaluation or {}).get("importance", [])
    }
    return sorted(names, key=lambda name: -measured.get(name, float("-inf")))


def heatmap_figure(
    version: ModelVersion, grid: dict[str, Any], current: tuple[Any, Any] | None = None
) -> Figure:
    """The answer over two inputs, named by their labels; a probability on the page's % scale."""
    label = input_labels(version)
    return charts.heatmap(
        x=label.get(grid["x"], grid["x"]),
        y=label.get(grid["y"], grid["y"]),
        x_values=grid["x_values"],
        y_values=grid["y_values"],
        z=grid["z"],
        z_label=grid["z_label"],
        current=current,
        percent=version.interface["output"]["task"] == "classification",
    )
