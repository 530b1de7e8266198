"""Figures for the dashboard: every model at a glance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from charts.theme import PALETTE, Figure, figure, title


def headline_metrics(items: Sequence[Mapping[str, Any]]) -> Figure:
    """One bar per model: its champion's headline metric (``{"model", "metric", "value"}``)."""
    return figure(
        [
            {
                "type": "bar",
                "orientation": "h",
                "y": [i["model"] for i in items],
                "x": [i["value"] for i in items],
                "text": [f"{i['metric']} {i['value']:.3f}" for i in items],
                "textposition": "inside",
                "insidetextanchor": "start",
                "marker": {"color": [PALETTE[n % len(PALETTE)] for n in range(len(items))]},
                "hovertemplate": "%{y}: %{text}<extra></extra>",
            }
        ],
        {
            "title": title("Champion quality on reference data"),
            "xaxis": {"range": [0, 1], "title": {"text": "Score (1 is perfect)"}},
            "yaxis": {"autorange": "reversed"},
            "showlegend": False,
            "height": 110 + 40 * max(1, len(items)),
        },
    )


def usage_per_day(
    series: Mapping[str, Sequence[tuple[str, int]]], *, days: Sequence[str]
) -> Figure:
    """Answers per day and model, stacked, over the given days (ISO dates)."""
    data = []
    for i, (name, points) in enumerate(series.items()):
        counts = dict(points)
        data.append(
            {
                "type": "bar",
                "name": name,
                "x": list(days),
                "y": [counts.get(d, 0) for d in days],
                "marker": {"color": PALETTE[i % len(PALETTE)]},
                "hovertemplate": f"{name} %{{x}}: %{{y}}<extra></extra>",
            }
        )
    return figure(
        data,
        {
            "title": title("Answers per day"),
            "barmode": "stack",
            "xaxis": {"type": "date", "tickformat": "%b %d"},
            "yaxis": {"title": {"text": "Answers"}, "rangemode": "tozero", "tickformat": ",d"},
            "height": 320,
        },
    )
