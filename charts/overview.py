"""Figures for the dashboard: every model at a glance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from charts.theme import PALETTE, Figure, count_axis, figure, title


def headline_metrics(items: Sequence[Mapping[str, Any]]) -> Figure:
    """One bar per model: its champion's headline metric (``{"model", "key", "metric",
    "value"}``, and ``scale``: what the metric's axis says), one panel per kind of metric, each
    on its own axis: a classifier's and a regressor's scores are not on the same scale (an R²
    of 0.35 is respectable; a ROC AUC of 0.35 is worse than guessing)."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        groups.setdefault(item.get("key", item["metric"]), []).append(item)
    total = sum(len(g) for g in groups.values())
    gap = 0.22 if len(groups) > 1 else 0
    usable = 1 - gap * (len(groups) - 1)
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "title": title("Champion quality on reference data"),
        "showlegend": False,
        "height": 70 + 34 * max(1, total) + 70 * len(groups),
        "margin": {"t": 40, "b": 10},
    }
    top, colour = 1.0, 0
    for i, group in enumerate(groups.values()):
        suffix = "" if i == 0 else str(i + 1)
        height = usable * len(group) / total
        low = min(0.0, *(g["value"] for g in group))
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": [g["model"] for g in group],
                "x": [g["value"] for g in group],
                "text": [f"{g['metric']} {g['value']:.3f}" for g in group],
                "textposition": "inside",
                "insidetextanchor": "start",
                "marker": {
                    "color": [PALETTE[(colour + n) % len(PALETTE)] for n in range(len(group))]
                },
                "hovertemplate": "%{y}: %{text}<extra></extra>",
                "xaxis": f"x{suffix}",
                "yaxis": f"y{suffix}",
            }
        )
        colour += len(group)
        layout[f"yaxis{suffix}"] = {
            "domain": [round(max(0.0, top - height), 4), round(top, 4)],
            "anchor": f"x{suffix}",
            "autorange": "reversed",
        }
        layout[f"xaxis{suffix}"] = {
            "range": [low, 1],
            "anchor": f"y{suffix}",
            "title": {
                "text": group[0].get("scale") or group[0]["metric"],
                "standoff": 4,
                "font": {"size": 12},
            },
        }
        top -= height + gap
    return figure(data, layout)


def usage_per_day(
    series: Mapping[str, Sequence[tuple[str, int]]], *, days: Sequence[str]
) -> Figure:
    """Stored predictions per day and model, stacked, over the given days (ISO dates)."""
    data = []
    totals = dict.fromkeys(days, 0)
    for i, (name, points) in enumerate(series.items()):
        counts = dict(points)
        for d in days:
            totals[d] += counts.get(d, 0)
        data.append(
            {
                "type": "bar",
                "name": name,
                "x": list(days),
                "y": [counts.get(d, 0) for d in days],
                "marker": {"color": PALETTE[i % len(PALETTE)]},
                "hovertemplate": f"{name} %{{x|%b %d}}: %{{y}}<extra></extra>",
            }
        )
    return figure(
        data,
        {
            "title": title("Answers per day"),
            "barmode": "stack",
            "xaxis": {"type": "date", "tickformat": "%b %d"},
            "yaxis": count_axis(max(totals.values(), default=0), title={"text": "Answers"}),
            "height": 320,
        },
    )
