"""Figures of a release: how a shadow's answers compare with the champion's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from charts.theme import ACCENT, PALETTE, Figure, figure, title


def _moment(iso: str) -> str:
    return iso[:19].replace("T", " ")


def shadow_agreement(series: Sequence[Mapping[str, Any]], *, classifier: bool) -> Figure:
    """Per hour: the share of rows the shadow labelled as the champion did (classifiers) or
    the mean |champion - shadow| (regressors), with the answers compared as bars behind.

    ``series`` items: ``{"start", "compared", "agreement"}`` or ``{…, "mean_difference"}``.
    """
    x = [_moment(s["start"]) for s in series]
    key, name = ("agreement", "agreement") if classifier else ("mean_difference", "mean difference")
    data = [
        {
            "type": "bar",
            "name": "answers compared",
            "x": x,
            "y": [s["compared"] for s in series],
            "marker": {"color": "rgba(0, 114, 178, 0.18)"},
            "yaxis": "y2",
            "hovertemplate": "%{x}: %{y} compared<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": x,
            "y": [s.get(key) for s in series],
            "line": {"color": ACCENT, "width": 2},
            "hovertemplate": "%{x}: %{y:.3f}<extra></extra>",
        },
    ]
    yaxis: dict[str, Any] = {"title": {"text": name}}
    if classifier:
        yaxis.update(range=[0, 1.02], tickformat=".0%")
    return figure(
        data,
        {
            "title": title(
                "Shadow against champion: " + ("agreement" if classifier else "value difference")
            ),
            "yaxis": yaxis,
            "yaxis2": {
                "overlaying": "y",
                "side": "right",
                "showgrid": False,
                "rangemode": "tozero",
                "title": {"text": "answers"},
            },
            "height": 300,
        },
    )


def latency_side_by_side(latency: Mapping[str, Mapping[str, float | None]]) -> Figure:
    """Each side's p50 and p99 answer time (ms), grouped by percentile.

    ``latency``: ``{"champion": {"p50", "p99"}, "shadow": {"p50", "p99"}}``.
    """
    data = [
        {
            "type": "bar",
            "name": side,
            "x": ["p50", "p99"],
            "y": [latency[side].get("p50"), latency[side].get("p99")],
            "marker": {"color": PALETTE[index]},
            "hovertemplate": f"{side} %{{x}}: %{{y:.2f}} ms<extra></extra>",
        }
        for index, side in enumerate(("champion", "shadow"))
        if side in latency
    ]
    return figure(
        data,
        {
            "title": title("Answer time, each side"),
            "barmode": "group",
            "yaxis": {"title": {"text": "ms"}, "rangemode": "tozero"},
            "height": 300,
        },
    )
