"""Figures of fairness: one figure per group comparison, small groups drawn faint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from charts.theme import ACCENT, MUTED, WARNING, Figure, figure, title


def group_bars(
    groups: Sequence[Mapping[str, Any]],
    *,
    heading: str,
    axis_title: str,
    percent: bool = True,
) -> Figure:
    """One bar per group with its 95% interval as error bars.

    ``groups`` are ``{"group", "value", "interval": [low, high] | None, "small": bool}``; a
    value of None draws no bar (the figure is undefined for that group). Small groups (too
    few rows to judge) are drawn in a muted colour and named so in their hover.
    """
    shown = [g for g in groups if g.get("value") is not None]
    values = [float(g["value"]) for g in shown]
    upper = [
        (float(g["interval"][1]) - v) if g.get("interval") else 0
        for g, v in zip(shown, values, strict=True)
    ]
    lower = [
        (v - float(g["interval"][0])) if g.get("interval") else 0
        for g, v in zip(shown, values, strict=True)
    ]
    fmt = ".0%" if percent else ".3g"
    return figure(
        [
            {
                "type": "bar",
                "x": [str(g["group"]) for g in shown],
                "y": values,
                "marker": {"color": [MUTED if g.get("small") else ACCENT for g in shown]},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": upper,
                    "arrayminus": lower,
                    "color": "#52606d",
                },
                "customdata": [
                    "too few rows to judge" if g.get("small") else f"{g.get('count', '')} rows"
                    for g in shown
                ],
                "hovertemplate": f"%{{x}}: %{{y:{fmt}}} (%{{customdata}})<extra></extra>",
            }
        ],
        {
            "title": title(heading),
            "xaxis": {"type": "category", "title": {"text": axis_title}, "tickangle": -30},
            "yaxis": {"tickformat": fmt, "rangemode": "tozero"},
            "showlegend": False,
            "height": 300,
        },
    )


def gap_over_time(points: Sequence[Mapping[str, Any]], *, heading: str, percent: bool) -> Figure:
    """The largest difference between groups per period (a line; gaps where undefined)."""
    fmt = ".0%" if percent else ".3g"
    return figure(
        [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": [p["period"] for p in points],
                "y": [p.get("largest_difference") for p in points],
                "line": {"color": WARNING},
                "customdata": [p.get("rows", 0) for p in points],
                "hovertemplate": f"week of %{{x}}: %{{y:{fmt}}} (%{{customdata}} rows)"
                "<extra></extra>",
            }
        ],
        {
            "title": title(heading),
            "xaxis": {"type": "date", "title": {"text": "Week"}},
            "yaxis": {"tickformat": fmt, "rangemode": "tozero"},
            "showlegend": False,
            "height": 280,
        },
    )


def recourse_bars(entries: Sequence[Mapping[str, Any]], *, heading: str) -> Figure:
    """The median cost of the cheapest change that gets the favourable answer, per group."""
    shown = [e for e in entries if e.get("median_cost") is not None]
    return figure(
        [
            {
                "type": "bar",
                "x": [str(e["group"]) for e in shown],
                "y": [float(e["median_cost"]) for e in shown],
                "marker": {"color": ACCENT},
                "customdata": [f"{e['found']} of {e['rows']} rows" for e in shown],
                "hovertemplate": "%{x}: %{y:.2f} (%{customdata})<extra></extra>",
            }
        ],
        {
            "title": title(heading),
            "xaxis": {"type": "category", "tickangle": -30},
            "yaxis": {"title": {"text": "Median cost (spreads)"}, "rangemode": "tozero"},
            "showlegend": False,
            "height": 280,
        },
    )
