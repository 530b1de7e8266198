"""Figures of answers: class probabilities, a value on its distribution, sensitivity, grids."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from charts.theme import (
    ACCENT,
    MUTED,
    PALETTE,
    WARNING,
    WARNING_BAND,
    Figure,
    axis,
    figure,
    title,
)


def _percent(p: float) -> str:
    return f"{p:.0%}" if p >= 0.01 or p == 0 else "<1%"


def class_probabilities(
    probabilities: Mapping[str, float], *, predicted: str, heading: str | None = None
) -> Figure:
    """Horizontal bars of each class's probability, the predicted class marked.

    The predicted class is drawn in the accent colour and also named in its label, so colour
    is not the only thing that tells it apart.
    """
    classes = list(probabilities)
    values = [float(probabilities[c]) for c in classes]
    labels = [f"{c} (predicted)" if c == str(predicted) else str(c) for c in classes]
    bar = {
        "type": "bar",
        "orientation": "h",
        "x": values,
        "y": labels,
        "text": [_percent(v) for v in values],
        "textposition": "outside",
        "cliponaxis": False,
        "marker": {"color": [ACCENT if c == str(predicted) else MUTED for c in classes]},
        "hovertemplate": "%{y}: %{x:.1%}<extra></extra>",
    }
    return figure(
        [bar],
        {
            "title": title(heading or f"Predicted: {predicted}"),
            "xaxis": {"range": [0, 1.12], "tickformat": ".0%", "title": {"text": "Probability"}},
            "yaxis": {"autorange": "reversed", "gridcolor": "rgba(0,0,0,0)"},
            "height": 90 + 44 * len(classes),
            "showlegend": False,
            "margin": {"r": 44},  # room for "100%" beside a full bar on a narrow screen
        },
    )


def class_probabilities_rows(
    classes: Sequence[str], rows: Sequence[Mapping[str, float]], *, labels: Sequence[str]
) -> Figure:
    """One stacked 100% bar per row: how the probability splits between classes."""
    names = [f"Row {i}" for i in range(len(rows))]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": str(c),
            "y": names,
            "x": [float(r.get(str(c), 0.0)) for r in rows],
            "marker": {"color": PALETTE[i % len(PALETTE)]},
            "hovertemplate": f"%{{y}}: {c} %{{x:.1%}}<extra></extra>",
        }
        for i, c in enumerate(classes)
    ]
    return figure(
        data,
        {
            "barmode": "stack",
            "title": title("Class probabilities per row"),
            "xaxis": {"range": [0, 1], "tickformat": ".0%"},
            "yaxis": {
                "autorange": "reversed",
                "tickvals": names,
                "ticktext": [f"{n}: {lab}" for n, lab in zip(names, labels, strict=True)],
            },
            "height": 120 + 28 * len(rows),
        },
    )


def value_on_distribution(
    values: Sequence[float],
    *,
    reference: Sequence[float],
    target: str,
    unit: str | None = None,
) -> Figure:
    """Predicted value(s) as lines over a histogram of the target in the reference data."""
    suffix = f" {unit}" if unit else ""
    data: list[dict[str, Any]] = []
    if reference:
        data.append(
            {
                "type": "histogram",
                "x": list(reference),
                "name": "Reference data",
                "marker": {"color": MUTED},
                "nbinsx": 30,
                "hovertemplate": f"{target} %{{x}}{suffix}: %{{y}} rows<extra></extra>",
            }
        )
    shapes, annotations = [], []
    if len(values) > 1:
        # Several rows: their own distribution over the reference one, named in a legend
        # (a line per row would be a thicket of unexplained dotted lines).
        data.append(
            {
                "type": "histogram",
                "x": list(values),
                "name": f"These {len(values):,} answers",
                "marker": {"color": ACCENT},
                "opacity": 0.75,
                "nbinsx": 30,
                "hovertemplate": f"{target} %{{x}}{suffix}: %{{y}} rows<extra></extra>",
            }
        )
    elif values:
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": values[0],
                "x1": values[0],
                "y0": 0,
                "y1": 1,
                "line": {"color": ACCENT, "width": 3},
            }
        )
        annotations.append(
            {
                "x": values[0],
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "text": f"Prediction: {values[0]:,.4g}{suffix}",
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "bottom",
                "font": {"color": ACCENT},
            }
        )
    # An output named only "prediction" (no target given) reads "Prediction", not "Predicted
    # prediction".
    predicted = "Prediction" if target == "prediction" else f"Predicted {target}"
    heading = (
        f"{predicted}: {values[0]:,.4g}{suffix}"
        if len(values) == 1
        else f"{len(values):,} predictions of {target}"
    )
    alone = not reference and len(values) == 1
    fig = figure(
        data,
        {
            "title": title(heading),
            "shapes": shapes,
            "annotations": annotations,
            "xaxis": {"title": {"text": f"{target}{f' ({unit})' if unit else ''}"}},
            "yaxis": {"title": {"text": "Rows" if len(values) > 1 else "Reference rows"}},
            "showlegend": len(values) > 1,
            # Inside the plot's top right: below it, the legend sat on the axis title.
            "legend": {
                "orientation": "v",
                "x": 0.99,
                "xanchor": "right",
                "y": 0.99,
                "yanchor": "top",
                "bgcolor": "rgba(255,255,255,0.85)",
            },
            "barmode": "overlay",
            "height": 340 if len(values) > 1 else 320,
            "bargap": 0.05,
        },
    )
    if alone:
        # No reference rows (a model registered from itself): nothing to draw the answer
        # over, and Plotly would not range the axis on a line alone. The answer stands on an
        # axis around it, without an empty histogram's row counts.
        v = values[0]
        pad = max(abs(v) * 0.25, 1.0) if math.isfinite(v) else 1.0
        fig["layout"]["xaxis"]["range"] = [v - pad, v + pad]
        fig["layout"]["yaxis"] = {"visible": False, "range": [0, 1]}
        fig["layout"]["height"] = 200
    return fig


PANEL_HEIGHT = 170  # pixels per row of small multiples
PANEL_GAP = 56  # pixels between rows, room for the next panel's title


def _grid_domains(n: int, columns: int, gap_x: float = 0.07):
    rows = math.ceil(n / columns)
    gap_y = PANEL_GAP / (rows * PANEL_HEIGHT + (rows - 1) * PANEL_GAP) if rows > 1 else 0
    width = (1 - gap_x * (columns - 1)) / columns
    height = (1 - gap_y * (rows - 1)) / rows
    for i in range(n):
        r, c = divmod(i, columns)
        x0 = c * (width + gap_x)
        y1 = 1 - r * (height + gap_y)
        yield [round(x0, 4), round(x0 + width, 4)], [round(y1 - height, 4), round(y1, 4)]


def sensitivity(
    series: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    y_label: str,
    y_range: Sequence[float] | None = None,
    columns: int = 3,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Small multiples: one panel per input, how the answer moves as that input moves.

    ``series`` maps a name (a model, or just "answer") to its curves; each curve is
    ``{"feature", "type", "values", "y", "current"}``. Numbers are drawn as lines, categories
    and booleans as bars; the row's current value is marked in every panel. Several series
    overlay in the same panels, so models can be compared where they diverge.
    """
    names = list(series)
    if y_range is None:
        # One scale for every panel, so a steep curve means a strong effect, not a zoom.
        ys = [v for curves in series.values() for c in curves for v in c["y"] if v is not None]
        if ys:
            low, high = min(ys), max(ys)
            pad = (high - low) * 0.08 or abs(high) * 0.05 or 1
            y_range = [low - pad, high + pad]
    features: list[str] = []
    for curves in series.values():
        for curve in curves:
            if curve["feature"] not in features:
                features.append(curve["feature"])
    columns = max(1, min(columns, len(features)))
    domains = dict(zip(features, _grid_domains(len(features), columns), strict=False))
    rows = math.ceil(len(features) / columns) if features else 1
    layout: dict[str, Any] = {
        "height": 76 + rows * PANEL_HEIGHT + (rows - 1) * PANEL_GAP,
        "showlegend": len(names) > 1,
        "annotations": [],
        "shapes": [],
        "barmode": "group",
        "margin": {"t": 36, "l": 48, "r": 12, "b": 40},
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
    }
    data: list[dict[str, Any]] = []
    for i, feature in enumerate(features):
        n = "" if i == 0 else str(i + 1)
        x_domain, y_domain = domains[feature]
        layout[f"xaxis{n}"] = {"domain": x_domain, "anchor": f"y{n}"}
        layout[f"yaxis{n}"] = {
            "domain": y_domain,
            "anchor": f"x{n}",
            "range": list(y_range) if y_range else None,
            "tickformat": ".0%" if y_range and y_range[0] >= 0 and y_range[1] <= 1 else None,
            "title": {"text": y_label if i % columns == 0 else ""},
        }
        layout["annotations"].append(
            {
                "text": f"<b>{(labels or {}).get(feature, feature)}</b>",
                "x": x_domain[0],
                "y": y_domain[1],
                "xref": "paper",
                "yref": "paper",
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
            }
        )
        for s, name in enumerate(names):
            curve = next((c for c in series[name] if c["feature"] == feature), None)
            if curve is None:
                continue
            color = PALETTE[s % len(PALETTE)]
            common = {
                "xaxis": f"x{n}",
                "yaxis": f"y{n}",
                "name": name,
                "legendgroup": name,
                "showlegend": i == 0,
                "marker": {"color": color},
            }
            if curve["type"] in ("number", "integer"):
                data.append(
                    {
                        **common,
                        "type": "scatter",
                        "mode": "lines",
                        "x": list(curve["values"]),
                        "y": list(curve["y"]),
                        "line": {"color": color, "width": 2},
                        "hovertemplate": f"{feature} %{{x}}: %{{y:.3~g}}<extra>{name}</extra>",
                    }
                )
                if s == 0 and y_range:
                    # The current value as a trace, not a layout shape: a page that redraws
                    # in place then moves it with the curves in one step (no relayout).
                    current = curve.get("current")
                    data.append(
                        {
                            "type": "scatter",
                            "mode": "lines",
                            "xaxis": f"x{n}",
                            "yaxis": f"y{n}",
                            "x": [current, current],
                            "y": list(y_range),
                            "line": {"color": WARNING, "width": 1.5, "dash": "dot"},
                            "hoverinfo": "skip",
                            "showlegend": False,
                            "meta": "current",
                        }
                    )
            else:
                values = [str(v) for v in curve["values"]]
                # Choices such as "1", "2" are still categories, each at its index.
                layout[f"xaxis{n}"]["type"] = "category"
                data.append(
                    {
                        **common,
                        "type": "bar",
                        "x": values,
                        "y": list(curve["y"]),
                        "hovertemplate": f"{feature} = %{{x}}: %{{y:.3~g}}<extra>{name}</extra>",
                    }
                )
                current = str(curve.get("current"))
                if current in values and s == 0:
                    # A band behind the current category (a category axis places category i
                    # at i), not an outline in the bars' own style: a new current value then
                    # moves a shape, as it does for numbers, and the traces keep their style,
                    # so a page can update the figure in place instead of redrawing it.
                    at = values.index(current)
                    layout["shapes"].append(
                        {
                            "type": "rect",
                            "xref": f"x{n}",
                            "yref": f"y{n} domain",
                            "x0": at - 0.5,
                            "x1": at + 0.5,
                            "y0": 0,
                            "y1": 1,
                            "layer": "below",
                            "fillcolor": WARNING_BAND,
                            "line": {"color": WARNING, "width": 1.5, "dash": "dot"},
                        }
                    )
    return figure(data, layout)


def _extent(values: Sequence[Any]) -> list[float] | None:
    """An axis range from the first to the last cell centre, plus half a cell each side."""
    numbers = [v for v in values if _is_number(v)]
    if len(numbers) != len(values) or len(numbers) < 2:
        return None  # categories: Plotly places them itself
    half = (max(numbers) - min(numbers)) / (len(numbers) - 1) / 2
    return [min(numbers) - half, max(numbers) + half]


def heatmap(
    *,
    x: str,
    y: str,
    x_values: Sequence[Any],
    y_values: Sequence[Any],
    z: Sequence[Sequence[float]],
    z_label: str,
    current: tuple[Any, Any] | None = None,
    percent: bool = False,
) -> Figure:
    """The answer over a grid of two inputs, the current row marked.

    The axes span the grid, whatever the current row: a value far outside the grid is marked
    at the grid's edge (and named in the marker's hover) rather than stretching the axis and
    squashing the picture. ``percent`` shows a probability on a 0 to 100% colour scale.
    """
    x_range, y_range = _extent(x_values), _extent(y_values)
    z_format = ".0%" if percent else ".3~g"
    data: list[dict[str, Any]] = [
        {
            "type": "heatmap",
            "x": [str(v) if isinstance(v, str) else v for v in x_values],
            "y": [str(v) if isinstance(v, str) else v for v in y_values],
            "z": [list(row) for row in z],
            "colorscale": "Viridis",
            "colorbar": {
                "title": {"text": z_label, "side": "right"},
                "thickness": 14,
                **({"tickformat": ".0%"} if percent else {}),
            },
            **({"zmin": 0, "zmax": 1} if percent else {}),
            "hovertemplate": f"{x} %{{x}}, {y} %{{y}}: %{{z:{z_format}}}<extra></extra>",
        }
    ]
    if current is not None:
        shown = [
            min(max(value, extent[0]), extent[1]) if extent and _is_number(value) else value
            for value, extent in zip(current, (x_range, y_range), strict=True)
        ]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [shown[0]],
                "y": [shown[1]],
                "name": "Current inputs",
                "marker": {
                    "symbol": "x",
                    "size": 12,
                    "color": "#ffffff",
                    "line": {"color": "#000000", "width": 1},
                },
                "hovertemplate": f"Current inputs: {x} {current[0]}, {y} {current[1]}"
                "<extra></extra>",
            }
        )
    heading = f"{z_label} by {x} and {y}"
    if len(heading) > 36:  # two lines rather than a title cut off on a phone
        heading = f"{z_label} by {x}<br>and {y}"
    return figure(
        data,
        {
            "title": title(heading),
            "margin": {"t": 64 if "<br>" in heading else 40},
            "xaxis": axis(title={"text": x}, **({"range": x_range} if x_range else {})),
            "yaxis": axis(title={"text": y}, **({"range": y_range} if y_range else {})),
            "height": 380,
            "showlegend": False,
        },
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
