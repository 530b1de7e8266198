"""Figures for the monitoring page: traffic, overlaid distributions, drift over time,
performance from feedback."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from charts.theme import ACCENT, INK, MUTED, PALETTE, WARNING, Figure, figure, title

SOURCE_COLOURS = {"api": PALETTE[0], "batch": PALETTE[2], "page": PALETTE[1]}
# Over time, the legend sits above the plot: below it, on a phone, it runs into the date
# ticks (two lines each: "Nov 8" over "2026").
TOP_LEGEND = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}
TOP_MARGIN = {"t": 72}


def _moment(iso: str) -> str:
    """An ISO time as Plotly's date axis reads it: no UTC offset (the times are UTC)."""
    return iso[:19].replace("T", " ")


def traffic(series: Sequence[Mapping[str, Any]], *, window: str = "day") -> Figure:
    """Answers per window, stacked by source, with refused calls and p95 latency (right axis).

    ``series`` items: ``{"start", "by_source": {source: answers}, "refused", "p95_ms"}``.
    """
    # An hour's key ("2026-12-03T19") as a time the date axis shows as "19:00".
    x = [f"{s['start'].replace('T', ' ')}:00" if window == "hour" else s["start"] for s in series]
    sources = sorted({k for s in series for k in s.get("by_source", {})})
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": f"answers · {source}",
            "x": x,
            "y": [s.get("by_source", {}).get(source, 0) for s in series],
            "marker": {"color": SOURCE_COLOURS.get(source, MUTED)},
            "hovertemplate": f"{source} %{{x}}: %{{y}} answers<extra></extra>",
        }
        for source in sources
    ]
    if any(s.get("refused") for s in series):
        data.append(
            {
                "type": "bar",
                "name": "refused",
                "x": x,
                "y": [s.get("refused") or 0 for s in series],
                "marker": {"color": WARNING},
                "hovertemplate": "%{x}: %{y} refused<extra></extra>",
            }
        )
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "p95 latency (ms)",
            "x": x,
            "y": [s.get("p95_ms") for s in series],
            "yaxis": "y2",
            "line": {"color": PALETTE[7], "width": 1.5},
            "marker": {"size": 4},
            "hovertemplate": "%{x}: p95 %{y:.2f} ms<extra></extra>",
        }
    )
    return figure(
        data,
        {
            "title": title(f"Answers per {window}"),
            "barmode": "stack",
            "xaxis": {"type": "date"},
            "legend": TOP_LEGEND,
            "yaxis": {"title": {"text": "Answers"}, "rangemode": "tozero"},
            "yaxis2": {
                "title": {"text": "p95 latency (ms)"},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "showgrid": False,
            },
            "margin": {"r": 56, **TOP_MARGIN},
            "height": 340,
        },
    )


def distribution_overlay(
    name: str,
    distribution: Mapping[str, Any],
    *,
    drifted: bool = False,
    unit: str | None = None,
    heading: str | None = None,
) -> Figure:
    """Reference and current shares of one input overlaid: bars on shared bins or categories.

    ``distribution`` is ``{"kind": "number", "edges", "reference", "current"}`` or
    ``{"kind": "category", "categories", "reference", "current"}`` (shares that sum to 1).
    A drifted input's title says so and its current bars are drawn in the warning colour.
    """
    if distribution["kind"] == "number":
        edges = distribution["edges"]
        x = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
        width = [b - a for a, b in itertools.pairwise(edges)]
    else:
        x, width = list(distribution["categories"]), None
    current_colour = WARNING if drifted else ACCENT
    data = []
    for key, label, colour, opacity in (
        ("reference", "reference", MUTED, 0.9),
        ("current", "now", current_colour, 0.55),
    ):
        trace: dict[str, Any] = {
            "type": "bar",
            "name": label,
            "x": x,
            "y": distribution[key],
            "marker": {"color": colour},
            "opacity": opacity,
            "hovertemplate": f"{label} %{{x}}: %{{y:.1%}}<extra></extra>",
        }
        if width:
            trace["width"] = width
        data.append(trace)
    axis_title = f"{name} ({unit})" if unit else name
    text = heading or (f"⚠ {name}: drifted" if drifted else name)
    return figure(
        data,
        {
            "title": {**title(text), "font": {"size": 15, "color": WARNING}}
            if drifted
            else title(text),
            "barmode": "overlay",
            "bargap": 0.05,
            "xaxis": {"title": {"text": axis_title}},
            "yaxis": {"title": {"text": "Share of rows"}, "tickformat": ".0%"},
            "height": 260,
            "margin": {"t": 36, "b": 44},
            "legend": {"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
        },
    )


def drift_over_time(
    windows: Sequence[Mapping[str, Any]],
    inputs: Sequence[str],
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """A heatmap of inputs by window: -log10 of the adjusted p-value; windows with too few
    rows are left blank. ``windows`` items: ``{"start", "status", "rows", "adjusted_p"}``.

    ``labels`` maps an input's code name to its label: rows are named by label (what a
    business user reads), the hover also gives the code name (what a data scientist looks up).
    A label two inputs share would merge their rows on the axis, so those keep the code name.
    """
    given = labels or {}
    named = [given.get(name) or name for name in inputs]
    rows_named = [
        shown if named.count(shown) == 1 else name
        for name, shown in zip(inputs, named, strict=True)
    ]
    x = [_moment(w["start"]) for w in windows]
    z, text = [], []
    for name, shown in zip(inputs, rows_named, strict=True):
        row, row_text = [], []
        code = f" ({name})" if shown != name else ""
        for w in windows:
            p = (w.get("adjusted_p") or {}).get(name)
            if w["status"] == "not_enough_data" or p is None:
                row.append(None)
                row_text.append(f"{w['rows']} rows: not enough data{code}")
            else:
                row.append(round(min(10.0, -math.log10(max(p, 1e-10))), 3))
                row_text.append(f"adjusted p {p:.2g} · {w['rows']} rows{code}")
        z.append(row)
        text.append(row_text)
    return figure(
        [
            {
                "type": "heatmap",
                "x": x,
                "y": rows_named,
                "z": z,
                "text": text,
                "zmin": 0,
                "zmax": 4,
                # Below 1.3 (p > 0.05) stays pale; deep orange is strong evidence of drift.
                "colorscale": [[0, "#f5f7fa"], [0.32, "#f5f7fa"], [0.33, "#f6c99b"], [1, WARNING]],
                "colorbar": {"title": {"text": "−log10 p"}, "thickness": 10},
                "hovertemplate": "%{y} · %{x}<br>%{text}<extra></extra>",
                "xgap": 1,
                "ygap": 1,
            }
        ],
        {
            "title": title("Drift per window (adjusted p-value)"),
            "xaxis": {"type": "date"},
            "yaxis": {"autorange": "reversed"},
            "height": 140 + 22 * max(1, len(inputs)),
        },
    )


def _reference_line(x: Sequence[str], reference: float, number: str) -> dict[str, Any]:
    """The reference figure as a dashed line across the windows."""
    return {
        "type": "scatter",
        "mode": "lines",
        "name": "reference",
        "x": [x[0], x[-1]],
        "y": [reference, reference],
        "line": {"color": MUTED, "dash": "dash"},
        "hovertemplate": f"reference %{{y:{number}}}<extra></extra>",
    }


def performance(
    series: Sequence[Mapping[str, Any]],
    *,
    metric: str,
    reference: float | None,
    label: str | None = None,
) -> Figure:
    """The realised metric (``label``: how a page names it) per window with its bootstrap
    interval, beside the reference.

    ``series`` items: ``{"start", "value", "interval": [low, high] | None, "labelled"}``.
    """
    x = [_moment(s["start"]) for s in series]
    values = [s["value"] for s in series]
    upper = [(s["interval"][1] - s["value"]) if s.get("interval") else 0 for s in series]
    lower = [(s["value"] - s["interval"][0]) if s.get("interval") else 0 for s in series]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "markers+lines",
            "name": f"{metric} from feedback",
            "x": x,
            "y": values,
            "error_y": {"type": "data", "array": upper, "arrayminus": lower, "color": ACCENT},
            "customdata": [s.get("labelled", 0) for s in series],
            "line": {"color": ACCENT},
            "hovertemplate": "%{x}: %{y:.3f} (%{customdata} labelled)<extra></extra>",
        }
    ]
    if reference is not None and x:
        data.append(_reference_line(x, reference, ".3f"))
    label = label or metric
    return figure(
        data,
        {
            "title": title(f"{label} from feedback, with 95% interval"),
            "xaxis": {"type": "date"},
            "yaxis": {"title": {"text": label}},
            "height": 320,
            "legend": TOP_LEGEND,
            "margin": TOP_MARGIN,
        },
    )


def estimated_performance(
    series: Sequence[Mapping[str, Any]],
    *,
    metric: str,
    reference: float | None,
    method: str,
    label: str | None = None,
) -> Figure:
    """Performance estimated without labels per window: the estimate with its 95% band,
    the figure from feedback where there is some, and the reference as a dashed line.

    ``series`` items: ``{"start", "estimate", "low", "high", "realized", "rows"}``; a window
    with too few answers has ``estimate`` None and is left as a gap.
    """
    x = [_moment(s["start"]) for s in series]
    label = label or metric
    percent = metric != "mae"
    number = ".1%" if percent else ".3g"
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "y": [s.get("high") for s in series],
            "line": {"width": 0},
            "hoverinfo": "skip",
            "showlegend": False,
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "likely range (95%)",
            "x": x,
            "y": [s.get("low") for s in series],
            "fill": "tonexty",
            "fillcolor": "rgba(0, 114, 178, 0.15)",
            "line": {"width": 0},
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": f"estimated ({method})",
            "x": x,
            "y": [s.get("estimate") for s in series],
            "customdata": [[s.get("low"), s.get("high"), s.get("rows", 0)] for s in series],
            "line": {"color": ACCENT},
            "marker": {"size": 5},
            "hovertemplate": f"%{{x}}: %{{y:{number}}} (likely %{{customdata[0]:{number}}}–"
            f"%{{customdata[1]:{number}}}, %{{customdata[2]}} answers)<extra></extra>",
        },
    ]
    if any(s.get("realized") is not None for s in series):
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "from feedback",
                "x": x,
                "y": [s.get("realized") for s in series],
                "marker": {"color": INK, "symbol": "diamond", "size": 7},
                "hovertemplate": f"%{{x}}: %{{y:{number}}} from feedback<extra></extra>",
            }
        )
    if reference is not None and x:
        data.append(_reference_line(x, reference, number))
    return figure(
        data,
        {
            "title": title(f"{label}: estimated without outcomes, and from feedback"),
            "xaxis": {"type": "date"},
            "yaxis": {"title": {"text": label}, "tickformat": ".0%" if percent else None},
            "height": 340,
            "legend": TOP_LEGEND,
            "margin": TOP_MARGIN,
        },
    )


QUALITY_RATES = (
    ("missing", "missing", PALETTE[0]),
    ("out_of_range", "outside training range", PALETTE[5]),
    ("unseen_categories", "unseen category", PALETTE[3]),
)


def quality_rates(quality: Sequence[Mapping[str, Any]], *, most: int = 12) -> Figure:
    """Small multiples, one row per input: the share of rows missing, outside the training
    range and of an unseen category per window. ``quality`` items: ``{"input", "label",
    "series": [{"start", "missing", "out_of_range", "unseen_categories"}]}``; inputs that
    never have a problem are left out, at most ``most`` are drawn."""
    shown = [
        q
        for q in quality
        if any(p.get(k) for p in q.get("series", []) for k, _, _ in QUALITY_RATES)
    ][:most]
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "title": title("Data quality per input: share of rows"),
        "grid": {
            "rows": max(1, len(shown)),
            "columns": 1,
            "pattern": "independent",
            "ygap": 0.45,
        },
        "height": 110 + 100 * max(1, len(shown)),
        "showlegend": True,
        "legend": TOP_LEGEND,
        "margin": {"t": 72, "l": 56},
        "annotations": [],
    }
    for i, item in enumerate(shown, start=1):
        axis = "" if i == 1 else str(i)
        x = [_moment(p["start"]) for p in item["series"]]
        for key, name, colour in QUALITY_RATES:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": name,
                    "legendgroup": key,
                    "showlegend": i == 1,
                    "x": x,
                    "y": [p.get(key) for p in item["series"]],
                    "xaxis": f"x{axis}",
                    "yaxis": f"y{axis}",
                    "line": {"color": colour, "width": 1.5},
                    "marker": {"size": 4},
                    "hovertemplate": f"{item.get('label') or item['input']} · {name}"
                    " %{x}: %{y:.1%}<extra></extra>",
                }
            )
        layout[f"xaxis{axis}"] = {"type": "date", "showticklabels": i == len(shown)}
        layout[f"yaxis{axis}"] = {"tickformat": ".0%", "rangemode": "tozero"}
        # The input's name above its own panel (a y-axis title is too cramped for a label).
        layout["annotations"].append(
            {
                "text": item.get("label") or item["input"],
                "xref": f"x{axis} domain",
                "yref": f"y{axis} domain",
                "x": 0,
                "y": 1.0,
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 11},
            }
        )
    return figure(data, layout)
