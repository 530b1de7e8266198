"""The one theme every figure shares: fonts, colours, margins."""

from __future__ import annotations

import copy
from typing import Any

# Okabe-Ito: distinguishable with the common forms of colour blindness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
ACCENT = "#0072B2"
MUTED = "#b8c2cc"
WARNING = "#D55E00"
WARNING_BAND = "rgba(213, 94, 0, 0.12)"  # WARNING, faint: a band behind what it marks
INK = "#1f2933"
GRID = "#e4e7eb"
FONT = "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

_BASE_LAYOUT: dict[str, Any] = {
    "font": {"family": FONT, "size": 13, "color": INK},
    "colorway": PALETTE,
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "#ffffff",
    "margin": {"l": 56, "r": 16, "t": 40, "b": 48},
    "hoverlabel": {"font": {"family": FONT}},
    "legend": {"orientation": "h", "y": -0.2, "x": 0},
}
_AXIS = {"gridcolor": GRID, "zerolinecolor": GRID, "linecolor": GRID, "automargin": True}

Figure = dict[str, Any]
"""A Plotly figure as plain JSON: ``{"data": [...], "layout": {...}}``."""


def axis(**options: Any) -> dict[str, Any]:
    """An axis in the theme's style, with ``options`` on top (``None`` options left out)."""
    return {**_AXIS, **{k: v for k, v in options.items() if v is not None}}


def figure(data: list[dict[str, Any]], layout: dict[str, Any] | None = None) -> Figure:
    """A themed figure. ``layout`` keys override the theme's."""
    merged = copy.deepcopy(_BASE_LAYOUT)
    for key, value in (layout or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    for key in list(merged):
        if key.startswith(("xaxis", "yaxis")):
            merged[key] = axis(**merged[key])
    merged.setdefault("xaxis", axis())
    merged.setdefault("yaxis", axis())
    return {"data": data, "layout": merged}


def title(text: str) -> dict[str, Any]:
    return {"text": text, "x": 0, "xanchor": "left", "font": {"size": 15}}


def count_axis(largest: float, **options: Any) -> dict[str, Any]:
    """An axis of whole counts from 0: ticks at round whole steps, so a small count never
    shows the same label twice (0, 1, 1, 2, …) as fractional ticks rounded would."""
    step = 1
    for candidate in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        step = candidate
        if largest / candidate <= 6:
            break
    else:
        step = 0  # large counts: Plotly's own ticks are whole numbers already
    ticks = {"tick0": 0, "dtick": step} if step else {}
    return {"rangemode": "tozero", "tickformat": ",d", **ticks, **options}
