"""Figures of a version's evaluation on reference data: metrics, errors, curves, importance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from charts.theme import ACCENT, GRID, INK, PALETTE, Figure, figure, title


def count_matrix(
    labels: Sequence[str],
    matrix: Sequence[Sequence[int]],
    *,
    heading: str,
    rows: str,
    columns: str,
) -> Figure:
    """Counts of one labelling (rows) against another (columns), numbers in the cells."""
    return figure(
        [
            {
                "type": "heatmap",
                "x": list(labels),
                "y": list(labels),
                "z": [list(r) for r in matrix],
                "text": [[str(v) for v in r] for r in matrix],
                "texttemplate": "%{text}",
                "colorscale": [[0, "#f5f7fa"], [1, ACCENT]],
                "showscale": False,
                "hovertemplate": f"{rows} %{{y}}, {columns} %{{x}}: %{{z}} rows<extra></extra>",
            }
        ],
        {
            "title": title(heading),
            "xaxis": {"title": {"text": columns}, "side": "bottom"},
            "yaxis": {"title": {"text": rows}, "autorange": "reversed"},
            "height": 170 + 50 * len(labels),
        },
    )


def confusion_matrix(labels: Sequence[str], matrix: Sequence[Sequence[int]]) -> Figure:
    """Counts of actual (rows) against predicted (columns) classes, numbers in the cells."""
    return count_matrix(
        labels, matrix, heading="Confusion matrix", rows="Actual", columns="Predicted"
    )


# A legend in the lower right corner of the plot, where ROC curves leave room.
LEGEND_INSIDE = {
    "orientation": "v",
    "x": 0.98,
    "xanchor": "right",
    "y": 0.04,
    "yanchor": "bottom",
    "bgcolor": "rgba(255,255,255,0.85)",
}


def diagonal(low: float = 0, high: float = 1) -> dict[str, Any]:
    return {
        "type": "line",
        "x0": low,
        "y0": low,
        "x1": high,
        "y1": high,
        "line": {"color": GRID, "dash": "dash"},
    }


def _curve_figure(
    curves: Sequence[Mapping[str, Any]],
    *,
    x: str,
    y: str,
    label: str,
    heading: str,
    axes: tuple[str, str],
    prefix: str,
    shapes: list[dict[str, Any]],
    legend: dict[str, Any],
) -> Figure:
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"{prefix}{c['class']} ({label.format(**c)})",
            "x": list(c[x]),
            "y": list(c[y]),
            "line": {"color": PALETTE[i % len(PALETTE)], "width": 2},
        }
        for i, c in enumerate(curves)
    ]
    return figure(
        data,
        {
            "title": title(heading),
            "xaxis": {"title": {"text": axes[0]}, "range": [0, 1]},
            "yaxis": {"title": {"text": axes[1]}, "range": [0, 1.02]},
            "shapes": shapes,
            # Inside the plot, in the corner the curves leave empty: below it, a legend of
            # several classes wraps over the axis title.
            "legend": legend,
            "height": 360,
        },
    )


def roc_curves(curves: Sequence[Mapping[str, Any]], *, prefix: str = "") -> Figure:
    """ROC curves (one per class, or one for a binary model) with their AUC."""
    return _curve_figure(
        curves,
        x="fpr",
        y="tpr",
        label="AUC {auc:.3f}",
        heading="ROC curve",
        axes=("False positive rate", "True positive rate"),
        prefix=prefix,
        shapes=[diagonal()],
        legend=LEGEND_INSIDE,
    )


def precision_recall(curves: Sequence[Mapping[str, Any]], *, prefix: str = "") -> Figure:
    """Precision against recall per class, with average precision."""
    return _curve_figure(
        curves,
        x="recall",
        y="precision",
        label="AP {average_precision:.3f}",
        heading="Precision and recall",
        axes=("Recall", "Precision"),
        prefix=prefix,
        legend={**LEGEND_INSIDE, "x": 0.02, "xanchor": "left"},
        shapes=[],
    )


def predicted_vs_actual_by_model(
    points: Mapping[str, Mapping[str, Sequence[float]]], *, target: str
) -> Figure:
    """Each model's predictions against the actual values (``{model: {"actual", "predicted"}}``),
    a colour per model; on the diagonal a model is exactly right."""
    values = [v for p in points.values() for v in (*p["actual"], *p["predicted"])]
    low, high = min(values, default=0), max(values, default=1)
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": model,
            "x": list(p["actual"]),
            "y": list(p["predicted"]),
            "marker": {"color": PALETTE[i % len(PALETTE)], "opacity": 0.55, "size": 6},
            "hovertemplate": f"{model}: actual %{{x:.4g}}, predicted %{{y:.4g}}<extra></extra>",
        }
        for i, (model, p) in enumerate(points.items())
    ]
    return figure(
        data,
        {
            "title": title("Predicted vs. actual"),
            "xaxis": {"title": {"text": f"Actual {target}"}},
            "yaxis": {"title": {"text": f"Predicted {target}"}},
            "shapes": [diagonal(low, high)],
            "legend": {**LEGEND_INSIDE, "x": 0.02, "xanchor": "left", "y": 0.98, "yanchor": "top"},
            "showlegend": len(points) > 1,
            "height": 400,
        },
    )


def residuals_by_model(residuals: Mapping[str, Sequence[float]], *, target: str) -> Figure:
    """The distributions of actual minus predicted of several models, overlaid."""
    data = [
        {
            "type": "histogram",
            "name": model,
            "x": list(values),
            "nbinsx": 30,
            "opacity": 0.55,
            "marker": {"color": PALETTE[i % len(PALETTE)]},
            "hovertemplate": f"{model}: residual %{{x}}: %{{y}} rows<extra></extra>",
        }
        for i, (model, values) in enumerate(residuals.items())
    ]
    return figure(
        data,
        {
            "title": title("Residuals (actual − predicted)"),
            "barmode": "overlay",
            "xaxis": {"title": {"text": f"{target} residual"}},
            "yaxis": {"title": {"text": "Rows"}},
            "shapes": [
                {
                    "type": "line",
                    "x0": 0,
                    "x1": 0,
                    "yref": "paper",
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": INK, "dash": "dot"},
                }
            ],
            "legend": {**LEGEND_INSIDE, "y": 0.98, "yanchor": "top"},
            "showlegend": len(residuals) > 1,
            "height": 360,
        },
    )


def predicted_vs_actual(
    actual: Sequence[float], predicted: Sequence[float], *, target: str
) -> Figure:
    """Each reference row as a point; on the diagonal the model is exactly right."""
    return predicted_vs_actual_by_model(
        {"Reference rows": {"actual": actual, "predicted": predicted}}, target=target
    )


def residuals(values: Sequence[float], *, target: str) -> Figure:
    """The distribution of actual minus predicted."""
    return residuals_by_model({"Reference rows": values}, target=target)


def feature_importance(
    items: Sequence[Mapping[str, Any]],
    *,
    scoring: str,
    top: int = 15,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Permutation importance: how much the score (``scoring``, as a page names it) drops when
    an input is shuffled. Inputs are named by ``labels`` (the interface's labels) where given."""
    shown = list(items)[:top]
    labels = labels or {}
    return figure(
        [
            {
                "type": "bar",
                "orientation": "h",
                "x": [i["mean"] for i in shown],
                "y": [labels.get(i["feature"], i["feature"]) for i in shown],
                "error_x": {"type": "data", "array": [i["std"] for i in shown], "color": "#52606d"},
                "marker": {"color": ACCENT},
                "hovertemplate": "%{y}: %{x:.4f}<extra></extra>",
            }
        ],
        {
            "title": title("Which inputs matter"),
            "xaxis": {"title": {"text": f"Drop in {scoring} when shuffled"}},
            "yaxis": {"autorange": "reversed"},
            "showlegend": False,
            "height": 100 + 26 * len(shown),
        },
    )
