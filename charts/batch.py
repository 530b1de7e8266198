"""Figures of a scored batch: what was predicted, and how it relates to the top inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from charts.theme import ACCENT, MUTED, PALETTE, Figure, figure, title


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
    return figure(
        [
            {
                "type": "histogram",
                "x": list(values),
                "nbinsx": 40,
                "marker": {"color": ACCENT, "line": {"color": "#ffffff", "width": 1}},
                "hovertemplate": f"{target} %{{x}}: %{{y}} rows<extra></extra>",
            }
        ],
        {
            "title": title(f"Distribution of predicted {target}"),
            "xaxis": {"title": {"text": label}},
            "yaxis": {"title": {"text": "Rows (sample)"}},
            "showlegend": False,
            "height": 340,
        },
    )


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
        else:
            layout[f"xaxis{suffix}"]["title"] = {"text": name}
            layout[f"yaxis{suffix}"]["title"] = {"text": target if i == 0 else ""}
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": values,
                    "y": list(predictions),
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
    return figure(data, layout)
