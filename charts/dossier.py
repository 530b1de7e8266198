"""Figures of the dossier that no page draws: global importance from explanations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from charts.theme import ACCENT, Figure, figure, title


def mean_abs_effects(
    items: Sequence[Mapping[str, Any]], *, probability: bool, top: int = 15
) -> Figure:
    """Mean absolute effect per input (``{"label", "mean_abs_effect"}``), largest first: how
    far, on average, each input moves an answer from the average answer."""
    shown = list(items)[:top]
    return figure(
        [
            {
                "type": "bar",
                "orientation": "h",
                "x": [float(i["mean_abs_effect"]) for i in shown],
                "y": [str(i["label"]) for i in shown],
                "marker": {"color": ACCENT},
                "hovertemplate": "%{y}: %{x:.4g}<extra></extra>",
            }
        ],
        {
            "title": title("Global importance: mean absolute effect per input"),
            "xaxis": {
                "title": {
                    "text": "Mean absolute effect (probability)"
                    if probability
                    else "Mean absolute effect"
                },
                "tickformat": ".0%" if probability else None,
                "rangemode": "tozero",
            },
            "yaxis": {"autorange": "reversed", "type": "category"},
            "showlegend": False,
            "height": 100 + 26 * len(shown),
        },
    )
