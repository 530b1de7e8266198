"""Figures that put several models' answers to the same inputs side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from charts.answers import sensitivity
from charts.evaluation import (
    LEGEND_INSIDE,
    count_matrix,
    diagonal,
)
from charts.theme import ACCENT, PALETTE, Figure, figure, title

MAX_ROWS_SHOWN = 50


def compare_probabilities(
    models: Sequence[str],
    probabilities: Sequence[Mapping[str, float]],
    *,
    heading: str = "Class probabilities by model",
) -> Figure:
    """Grouped bars: one group per class, one bar per model (its probability of the class).

    ``probabilities[i]`` belongs to ``models[i]``. Classes appear in the order the models
    first name them, so models with different classes still share one axis.
    """
    named = [{str(c): float(p) for c, p in probs.items()} for probs in probabilities]
    classes = list(dict.fromkeys(c for probs in named for c in probs))
    data = [
        {
            "type": "bar",
            "name": model,
            "x": classes,
            "y": [probs.get(c, 0.0) for c in classes],
            "marker": {"color": PALETTE[i % len(PALETTE)]},
            "hovertemplate": f"{model}: %{{x}} %{{y:.1%}}<extra></extra>",
        }
        for i, (model, probs) in enumerate(zip(models, named, strict=True))
    ]
    return figure(
        data,
        {
            "barmode": "group",
            "title": title(heading),
            "yaxis": {"range": [0, 1], "tickformat": ".0%", "title": {"text": "Probability"}},
            "height": 360,
            "showlegend": True,
        },
    )


def compare_values(
    models: Sequence[str],
    values: Sequence[Sequence[float]],
    *,
    target: str,
    unit: str | None = None,
) -> Figure:
    """Grouped bars: one group per input row, one bar per model (its predicted value).

    ``values[i]`` are ``models[i]``'s answers, one per row; at most 50 rows are drawn.
    """
    rows = max((len(v) for v in values), default=0)
    names = [f"Row {r}" for r in range(min(rows, MAX_ROWS_SHOWN))]
    suffix = f" {unit}" if unit else ""
    data = [
        {
            "type": "bar",
            "name": model,
            "x": names,
            "y": [float(v) for v in row_values[: len(names)]],
            "marker": {"color": PALETTE[i % len(PALETTE)]},
            "hovertemplate": f"{model}: %{{x}} %{{y:,.4g}}{suffix}<extra></extra>",
        }
        for i, (model, row_values) in enumerate(zip(models, values, strict=True))
    ]
    return figure(
        data,
        {
            "barmode": "group",
            "title": title(f"Predicted {target} by model"),
            "yaxis": {"title": {"text": f"{target}{f' ({unit})' if unit else ''}"}},
            "height": 360,
            "showlegend": True,
        },
    )


def model_values(
    models: Sequence[str], values: Sequence[float], *, target: str, unit: str | None = None
) -> Figure:
    """One row's predicted value from each model: a horizontal bar per model, value written."""
    suffix = f" {unit}" if unit else ""
    numbers = [float(v) for v in values]
    # Room beyond the longest bar for its value, written outside it: on a phone the plot is
    # narrow, and the value would otherwise be cut at the figure's edge.
    low, high = min([0.0, *numbers]), max([0.0, *numbers])
    pad = (high - low) * 0.3 or 1.0
    x_range = [low - pad if low < 0 else low, high + pad if high > 0 else high]
    return figure(
        [
            {
                "type": "bar",
                "orientation": "h",
                "x": numbers,
                "y": list(models),
                "text": [f"{float(v):,.4g}{suffix}" for v in values],
                "textposition": "outside",
                "cliponaxis": False,
                "marker": {"color": [PALETTE[i % len(PALETTE)] for i in range(len(models))]},
                "hovertemplate": f"%{{y}}: %{{x:,.4g}}{suffix}<extra></extra>",
            }
        ],
        {
            "title": title(f"Predicted {target} by model"),
            "xaxis": {
                "title": {"text": f"{target}{f' ({unit})' if unit else ''}"},
                "range": x_range,
            },
            "yaxis": {"autorange": "reversed", "gridcolor": "rgba(0,0,0,0)"},
            "height": 110 + 44 * len(models),
            "showlegend": False,
        },
    )


_DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]


def _curves_by_model(
    curves: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    x: str,
    y: str,
    score: str,
    score_name: str,
) -> list[dict[str, Any]]:
    """Curves of several models in one panel: a colour per model, a dash per class."""
    data = []
    for i, (model, items) in enumerate(curves.items()):
        for j, curve in enumerate(items):
            name = model if len(items) == 1 else f"{model}: {curve['class']}"
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{name} ({score_name} {curve[score]:.3f})",
                    "legendgroup": model,
                    "x": list(curve[x]),
                    "y": list(curve[y]),
                    "line": {
                        "color": PALETTE[i % len(PALETTE)],
                        "width": 2,
                        "dash": _DASHES[j % len(_DASHES)],
                    },
                    "hovertemplate": f"{name}: %{{x:.3f}}, %{{y:.3f}}<extra></extra>",
                }
            )
    return data


def roc_by_model(curves: Mapping[str, Sequence[Mapping[str, Any]]]) -> Figure:
    """ROC curves of several models overlaid (``{model: [{"class", "fpr", "tpr", "auc"}]}``)."""
    return figure(
        _curves_by_model(curves, x="fpr", y="tpr", score="auc", score_name="AUC"),
        {
            "title": title("ROC curves"),
            "xaxis": {"title": {"text": "False positive rate"}, "range": [0, 1]},
            "yaxis": {"title": {"text": "True positive rate"}, "range": [0, 1.02]},
            "shapes": [diagonal(0, 1)],
            "legend": LEGEND_INSIDE,
            "height": 400,
        },
    )


def precision_recall_by_model(curves: Mapping[str, Sequence[Mapping[str, Any]]]) -> Figure:
    """Precision-recall curves of several models overlaid, with average precision."""
    return figure(
        _curves_by_model(
            curves, x="recall", y="precision", score="average_precision", score_name="AP"
        ),
        {
            "title": title("Precision and recall"),
            "xaxis": {"title": {"text": "Recall"}, "range": [0, 1]},
            "yaxis": {"title": {"text": "Precision"}, "range": [0, 1.02]},
            "legend": {**LEGEND_INSIDE, "x": 0.02, "xanchor": "left"},
            "height": 400,
        },
    )


def agreement_matrix(
    labels: Sequence[str], matrix: Sequence[Sequence[int]], *, a: str, b: str
) -> Figure:
    """Rows counted by one model's predicted class (rows) and another's (columns): the
    diagonal is where they agree, every other cell where they disagree."""
    return count_matrix(
        labels, matrix, heading=f"{a} against {b}", rows=f"{a} predicts", columns=f"{b} predicts"
    )


def prediction_scatter(
    a_values: Sequence[float],
    b_values: Sequence[float],
    *,
    a: str,
    b: str,
    target: str,
) -> Figure:
    """One model's predicted values against another's for the same rows; on the diagonal they
    agree."""
    values = [*a_values, *b_values]
    low, high = min(values, default=0), max(values, default=1)
    return figure(
        [
            {
                "type": "scatter",
                "mode": "markers",
                "x": list(a_values),
                "y": list(b_values),
                "marker": {"color": ACCENT, "opacity": 0.6, "size": 6},
                "hovertemplate": f"{a} %{{x:.4g}}, {b} %{{y:.4g}}<extra></extra>",
            }
        ],
        {
            "title": title(f"{b} against {a}"),
            "xaxis": {"title": {"text": f"{target} by {a}"}},
            "yaxis": {"title": {"text": f"{target} by {b}"}},
            "shapes": [diagonal(low, high)],
            "showlegend": False,
            "height": 400,
        },
    )


LEGEND_ROOM = 34  # pixels above the panels for the models' legend


def sensitivity_by_model(
    series: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    y_label: str,
    y_range: Sequence[float] | None = None,
    labels: Mapping[str, str] | None = None,
    columns: int = 3,
) -> Figure:
    """:func:`charts.answers.sensitivity` with a series per model, overlaid in one panel per
    input (``columns`` of them a row), and the models' legend in a band of its own above the
    panels (where the panel titles would otherwise sit under it)."""
    fig = sensitivity(series, y_label=y_label, y_range=y_range, labels=labels, columns=columns)
    layout = fig["layout"]
    layout["height"] += LEGEND_ROOM
    layout["margin"] = {**layout["margin"], "t": layout["margin"]["t"] + LEGEND_ROOM}
    layout["legend"] = {
        "orientation": "h",
        "yref": "container",
        "y": 1,
        "yanchor": "top",
        "x": 0,
    }
    return fig
