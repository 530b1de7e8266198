"""Figures of a scored batch: what was predicted, and how it relates to the top inputs.

A batch may hold a few far-out rows (a typo, a unit mistake): the axes are drawn on the range
of the bulk of the rows, and the far-out rows are marked at its edge with their real values in
the hover text, rather than squeezing every other row into a corner.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from charts.theme import ACCENT, MUTED, PALETTE, WARNING, Figure, figure, title

# Tukey's "far out" fences: a value more than this many interquartile ranges beyond the
# quartiles is drawn at the edge of the axis, not on a scale stretched to reach it.
FAR_OUT_IQR = 3.0


def robust_range(values: Sequence[Any]) -> tuple[float, float] | None:
    """The axis range for ``values`` when some lie far out (the extreme values within
    Tukey's far-out fences, padded by 5%), or None when none does (the full range is fine)."""
    numbers = np.array(
        [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)], float
    )
    if len(numbers) < 4:
        return None
    q1, q3 = np.percentile(numbers, [25, 75])
    spread = q3 - q1
    if spread <= 0:
        return None
    low_fence, high_fence = q1 - FAR_OUT_IQR * spread, q3 + FAR_OUT_IQR * spread
    inside = numbers[(numbers >= low_fence) & (numbers <= high_fence)]
    if len(inside) == len(numbers) or not len(inside):
        return None
    low, high = float(inside.min()), float(inside.max())
    pad = 0.05 * (high - low or abs(high) or 1.0)
    return (low - pad, high + pad)


def _beyond(values: Sequence[Any], bounds: tuple[float, float] | None) -> list[bool]:
    if bounds is None:
        return [False] * len(values)
    return [isinstance(v, int | float) and not bounds[0] <= v <= bounds[1] for v in values]


def _far_out_note(n: int, *, x: float = 1.0, y: float = 1.0) -> dict[str, Any]:
    return {
        "text": f"▲ {n:,} far-out row{'s' * (n != 1)} marked at the edge",
        "x": x,
        "y": y,
        "xref": "paper",
        "yref": "paper",
        "xanchor": "right",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 11, "color": WARNING},
    }


def class_counts(counts: Mapping[str, int]) -> Figure:
    """How many rows got each class."""
    total = sum(counts.values()) or 1
    names = list(counts)
    return figure(
        [
            {
                "type": "bar",
                "x": names,
                "y": [counts[n] for n in names],
                "text": [f"{counts[n]:,} ({counts[n] / total:.0%})" for n in names],
                "textposition": "outside",
                "cliponaxis": False,
                "marker": {"color": [PALETTE[i % len(PALETTE)] for i in range(len(names))]},
                "hovertemplate": "%{x}: %{y:,} rows<extra></extra>",
            }
        ],
        {
            "title": title("Rows per predicted class"),
            "yaxis": {"title": {"text": "Rows"}, "rangemode": "tozero"},
            "showlegend": False,
            "height": 340,
        },
    )


def value_histogram(values: Sequence[float], *, target: str, unit: str | None = None) -> Figure:
    """The distribution of predicted values."""
    label = f"Predicted {target}" + (f" ({unit})" if unit else "")
    values = list(values)
    bounds = robust_range(values)
    far = _beyond(values, bounds)
    data: list[dict[str, Any]] = [
        {
            "type": "histogram",
            "x": [v for v, out in zip(values, far, strict=True) if not out],
            "nbinsx": 40,
            "marker": {"color": ACCENT, "line": {"color": "#ffffff", "width": 1}},
            "hovertemplate": f"{target} %{{x}}: %{{y}} rows<extra></extra>",
        }
    ]
    layout: dict[str, Any] = {
        "title": title(f"Distribution of predicted {target}"),
        "xaxis": {"title": {"text": label}},
        "yaxis": {"title": {"text": "Rows (sample)"}},
        "showlegend": False,
        "height": 340,
    }
    if bounds is not None:
        outliers = [v for v, out in zip(values, far, strict=True) if out]
        layout["xaxis"]["range"] = list(bounds)
        layout["annotations"] = [_far_out_note(len(outliers))]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [min(max(v, bounds[0]), bounds[1]) for v in outliers],
                "y": [0] * len(outliers),
                "customdata": outliers,
                "cliponaxis": False,
                "marker": {"color": WARNING, "symbol": "triangle-up", "size": 11},
                "hovertemplate": f"far out: {target} %{{customdata:.4g}}<extra></extra>",
            }
        )
    return figure(data, layout)


def prediction_by_input(
    inputs: Mapping[str, Sequence[Any]], predictions: Sequence[Any], *, target: str
) -> Figure:
    """One panel per top input: predicted value against it (scatter), or, for classes, the
    input's spread within each predicted class (box plots)."""
    names = list(inputs)
    n = max(1, len(names))
    gap = 0.08
    width = (1 - gap * (n - 1)) / n
    categorical = bool(predictions) and isinstance(predictions[0], str)
    y_bounds = None if categorical else robust_range(predictions)
    y_far = _beyond(predictions, y_bounds)
    far_rows = 0
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "title": title(f"Predicted {target} by the most important inputs"),
        "height": 380,
        "showlegend": False,
        "annotations": [],
        "margin": {"t": 70},
    }
    for i, name in enumerate(names):
        suffix = "" if i == 0 else str(i + 1)
        x0 = i * (width + gap)
        layout[f"xaxis{suffix}"] = {
            "domain": [round(x0, 4), round(x0 + width, 4)],
            "anchor": f"y{suffix}",
        }
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}"}
        values = list(inputs[name])
        bounds = robust_range(values)
        far = _beyond(values, bounds)
        if bounds is not None:
            layout[f"{'y' if categorical else 'x'}axis{suffix}"]["range"] = list(bounds)
        if categorical:
            layout["annotations"].append(
                {
                    "text": f"<b>{name}</b>",
                    "x": round(x0, 4),
                    "y": 1.0,
                    "xref": "paper",
                    "yref": "paper",
                    "xanchor": "left",
                    "yanchor": "bottom",
                    "showarrow": False,
                }
            )
            classes = sorted({str(p) for p in predictions})
            for c, cls in enumerate(classes):
                data.append(
                    {
                        "type": "box",
                        "name": cls,
                        "x": [cls] * sum(1 for p in predictions if str(p) == cls),
                        "y": [
                            v for v, p in zip(values, predictions, strict=False) if str(p) == cls
                        ],
                        "xaxis": f"x{suffix}",
                        "yaxis": f"y{suffix}",
                        "marker": {"color": PALETTE[c % len(PALETTE)]},
                        "boxpoints": False,
                    }
                )
            outliers = [(str(p), v) for v, p, o in zip(values, predictions, far, strict=False) if o]
            if outliers:
                data.append(_far_out_markers(outliers, None, bounds, suffix, name))
            far_rows = max(far_rows, len(outliers))
        else:
            if y_bounds is not None:
                layout[f"yaxis{suffix}"]["range"] = list(y_bounds)
            out = [a or b for a, b in zip(far, y_far, strict=False)]
            far_rows = max(far_rows, sum(out))
            layout[f"xaxis{suffix}"]["title"] = {"text": name}
            layout[f"yaxis{suffix}"]["title"] = {"text": target if i == 0 else ""}
            pairs = list(zip(values, predictions, out, strict=False))
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": [v for v, _, o in pairs if not o],
                    "y": [p for _, p, o in pairs if not o],
                    "xaxis": f"x{suffix}",
                    "yaxis": f"y{suffix}",
                    "marker": {
                        "color": MUTED if len(values) > 300 else ACCENT,
                        "size": 5,
                        "opacity": 0.7,
                    },
                    "hovertemplate": f"{name} %{{x}}: %{{y:.4g}}<extra></extra>",
                }
            )
            outliers = [(v, p) for v, p, o in pairs if o]
            if outliers:
                data.append(_far_out_markers(outliers, bounds, y_bounds, suffix, name))
    if far_rows:
        layout["annotations"].append(_far_out_note(far_rows, y=1.08))
    return figure(data, layout)


def _far_out_markers(
    points: list[tuple[Any, Any]],
    x_bounds: tuple[float, float] | None,
    y_bounds: tuple[float, float] | None,
    suffix: str,
    name: str,
) -> dict[str, Any]:
    """Far-out rows drawn at the edge of the range shown, their real values in the hover."""
    return {
        "type": "scatter",
        "mode": "markers",
        "x": [_clip(x, x_bounds) for x, _ in points],
        "y": [_clip(y, y_bounds) for _, y in points],
        "customdata": [[x, y] for x, y in points],
        "cliponaxis": False,
        "xaxis": f"x{suffix}",
        "yaxis": f"y{suffix}",
        "marker": {"color": WARNING, "symbol": "triangle-up", "size": 10},
        "hovertemplate": f"far out: {name} %{{customdata[0]}}, %{{customdata[1]}}<extra></extra>",
    }


def _clip(value: Any, bounds: tuple[float, float] | None) -> Any:
    if bounds is None or not isinstance(value, int | float):
        return value
    return min(max(value, bounds[0]), bounds[1])
