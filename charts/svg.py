"""Figures as static SVG: the same plain Plotly JSON the pages draw, rendered without a
browser, for documents (the dossier's PDF).

Plotly's own static export (kaleido) drives a headless Chrome; a server that makes PDFs should
not need one. This draws the subset of Plotly that the builders in ``charts`` use for
documents: scatter (lines, markers), bar (vertical or horizontal, with error bars),
histogram, heatmap, titles, axis titles and tick formats, and line shapes. Vector output:
the PDF keeps it sharp at any zoom and its text searchable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from charts.theme import GRID, INK, PALETTE, Figure

WIDTH, HEIGHT = 640, 300
MARGIN = {"l": 70, "r": 20, "t": 34, "b": 54}
FONT = "DejaVu Sans, Liberation Sans, sans-serif"


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not math.isfinite(low) or not math.isfinite(high):
        return []
    if high == low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks, t = [], first
    while t <= high + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    return ticks


def _fmt(value: float, tickformat: str | None) -> str:
    if tickformat and tickformat.endswith("%"):
        return f"{value * 100:.0f}%"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _number(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


class _Axis:
    """One axis: numeric (linear) or categorical, mapped onto a pixel span."""

    def __init__(self, values: Sequence[Any], start: float, end: float, layout: dict[str, Any]):
        if layout.get("autorange") == "reversed":
            start, end = end, start
        self.start, self.end = start, end
        self.format = layout.get("tickformat")
        numbers = [_number(v) for v in values]
        self.categorical = layout.get("type") in ("category", "date") or (
            any(n is None and v is not None for n, v in zip(numbers, values, strict=True))
        )
        if self.categorical:
            self.categories = list(dict.fromkeys(str(v) for v in values if v is not None))
            return
        found = [n for n in numbers if n is not None]
        low, high = (min(found), max(found)) if found else (0.0, 1.0)
        if layout.get("range"):
            low, high = (float(x) for x in layout["range"])
        if layout.get("rangemode") == "tozero":
            low, high = min(low, 0.0), max(high, 0.0)
        if high == low:
            high = low + 1
        pad = 0.0 if layout.get("range") else (high - low) * 0.04
        self.low, self.high = low - (pad if low != 0 else 0), high + pad

    def band(self) -> float:
        if not self.categorical:
            return 12.0
        return abs(self.end - self.start) / max(1, len(self.categories))

    def at(self, v: Any) -> float:
        if self.categorical:
            i = self.categories.index(str(v)) if str(v) in self.categories else 0
            step = (self.end - self.start) / max(1, len(self.categories))
            return self.start + step * (i + 0.5)
        x = _number(v)
        x = self.low if x is None else x
        return self.start + (x - self.low) / (self.high - self.low) * (self.end - self.start)

    def ticks(self) -> list[tuple[float, str]]:
        if self.categorical:
            return [(self.at(c), c) for c in self.categories]
        return [(self.at(t), _fmt(t, self.format)) for t in _nice_ticks(self.low, self.high)]


def _colour(trace: dict[str, Any], i: int, k: int | None = None) -> str:
    marker = trace.get("marker") or {}
    colour = marker.get("color") or (trace.get("line") or {}).get("color")
    if isinstance(colour, list):
        colour = colour[k] if k is not None and k < len(colour) else None
    return colour if isinstance(colour, str) else PALETTE[i % len(PALETTE)]


def _histogram(trace: dict[str, Any]) -> dict[str, Any]:
    values = [x for x in (_number(v) for v in trace.get("x", [])) if x is not None]
    if not values:
        return {**trace, "type": "bar", "x": [], "y": []}
    bins = int(trace.get("nbinsx") or 20)
    low, high = min(values), max(values)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - low) / width))] += 1
    return {
        **trace,
        "type": "bar",
        "x": [low + width * (i + 0.5) for i in range(bins)],
        "y": counts,
        "_width": width,
    }


def _el(tag: str, **attrs: Any) -> str:
    """One SVG element; ``stroke_width`` is written stroke-width, floats to one decimal."""
    shown = " ".join(
        f'{k.replace("_", "-")}="{v:.1f}"'
        if isinstance(v, float)
        else f'{k.replace("_", "-")}="{v}"'
        for k, v in attrs.items()
    )
    return f"<{tag} {shown}/>"


def _text(x: float, y: float, s: str, size: int = 11, anchor: str = "middle", **extra) -> str:
    attrs = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in extra.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"'
        f' fill="{INK}"{attrs}>{escape(s)}</text>'
    )


def to_svg(fig: Figure, *, width: int = WIDTH, height: int = HEIGHT) -> str:
    """The figure as a standalone SVG document (a string)."""
    layout = fig.get("layout", {})
    traces = [_histogram(t) if t.get("type") == "histogram" else t for t in fig.get("data", [])]
    # Room on the left for the longest category label of a horizontal bar chart.
    labels = [str(v) for t in traces if t.get("orientation") == "h" for v in t.get("y", [])]
    left = max(MARGIN["l"], min(width // 3, 12 + 6 * max(map(len, labels), default=0)))
    right = width - MARGIN["r"]
    top, bottom = MARGIN["t"], height - MARGIN["b"]
    named = [t for t in traces if t.get("name") and t.get("showlegend", True)]
    if len(named) > 1:
        bottom -= 18
    xs: list[Any] = []
    ys: list[Any] = []
    for t in traces:
        if t.get("type") == "heatmap":
            xs += list(t.get("x") or range(len(t["z"][0])))
            ys += list(t.get("y") or range(len(t["z"])))
            continue
        horizontal = t.get("orientation") == "h"
        x, y = list(t.get("x", [])), list(t.get("y", []))
        xs += x
        ys += y
        err = t.get("error_x" if horizontal else "error_y") or {}
        if err.get("array"):
            values = x if horizontal else y
            up = [
                (_number(v) or 0) + (_number(e) or 0)
                for v, e in zip(values, err["array"], strict=False)
            ]
            down = [
                (_number(v) or 0) - (_number(e) or 0)
                for v, e in zip(values, err.get("arrayminus") or err["array"], strict=False)
            ]
            (xs if horizontal else ys).extend(up + down)
        if t.get("type") == "bar":
            (xs if horizontal else ys).append(0)
    # A heatmap's cells are drawn one per value, in the order given: its axes are categories.
    cells = {"type": "category"} if any(t.get("type") == "heatmap" for t in traces) else {}
    xaxis = _Axis(xs, left, right, {**(layout.get("xaxis") or {}), **cells})
    yaxis = _Axis(ys, bottom, top, {**(layout.get("yaxis") or {}), **cells})
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}">',
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
        f'fill="#ffffff" stroke="{GRID}"/>',
    ]
    for pos, label in yaxis.ticks():
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{pos:.1f}" y2="{pos:.1f}" stroke="{GRID}"/>'
        )
        parts.append(_text(left - 6, pos + 4, label[:40], 10, "end"))
    xticks = xaxis.ticks()
    every = max(1, math.ceil(len(xticks) / 12))
    for j, (pos, label) in enumerate(xticks):
        if j % every:
            continue
        if not xaxis.categorical:
            parts.append(
                f'<line x1="{pos:.1f}" x2="{pos:.1f}" y1="{top}" y2="{bottom}" stroke="{GRID}"/>'
            )
        parts.append(_text(pos, bottom + 14, label[:16], 10))
    for i, t in enumerate(traces):
        parts.extend(_trace(t, i, xaxis, yaxis, len([u for u in traces if u.get("type") == "bar"])))
    for shape in layout.get("shapes") or []:
        if shape.get("type") != "line":
            continue
        x0 = (
            xaxis.at(shape["x0"])
            if shape.get("xref") != "paper"
            else left + (right - left) * shape["x0"]
        )
        x1 = (
            xaxis.at(shape["x1"])
            if shape.get("xref") != "paper"
            else left + (right - left) * shape["x1"]
        )
        y0 = (
            yaxis.at(shape["y0"])
            if shape.get("yref") != "paper"
            else bottom - (bottom - top) * shape["y0"]
        )
        y1 = (
            yaxis.at(shape["y1"])
            if shape.get("yref") != "paper"
            else bottom - (bottom - top) * shape["y1"]
        )
        parts.append(
            f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="{INK}" '
            'stroke-dasharray="3,3"/>'
        )
    heading = ((layout.get("title") or {}).get("text") or "").replace("<br>", " ")
    if heading:
        parts.append(_text(left, 20, heading, 13, "start", font_weight="bold"))
    xt = (((layout.get("xaxis") or {}).get("title")) or {}).get("text")
    yt = (((layout.get("yaxis") or {}).get("title")) or {}).get("text")
    if xt:
        parts.append(_text((left + right) / 2, bottom + 32, xt, 11))
    if yt:
        mid = (top + bottom) / 2
        parts.append(_text(16, mid, yt, 11, transform=f"rotate(-90 16 {mid:.1f})"))
    if len(named) > 1:
        x = left
        for i, t in enumerate(traces):
            if t in named:
                parts.append(
                    _el("rect", x=x, y=height - 22, width=10, height=10, fill=_colour(t, i))
                )
                parts.append(_text(x + 14, height - 13, str(t["name"])[:24], 10, "start"))
                x += 24 + 7 * min(24, len(str(t["name"])))
    parts.append("</svg>")
    return "".join(parts)


def _trace(t: dict[str, Any], i: int, xaxis: _Axis, yaxis: _Axis, bars: int) -> list[str]:
    kind = t.get("type", "scatter")
    out: list[str] = []
    if kind == "heatmap":
        z = t["z"]
        rows, cols = len(z), len(z[0]) if z else 0
        xs = list(t.get("x") or range(cols))
        ys = list(t.get("y") or range(rows))
        top = max((v for row in z for v in row if _number(v) is not None), default=1) or 1
        w, h = xaxis.band(), yaxis.band()
        for r in range(rows):
            for c in range(cols):
                v = _number(z[r][c]) or 0.0
                share = v / top
                x, y = xaxis.at(xs[c]) - w / 2, yaxis.at(ys[r]) - h / 2
                rgb = (int(255 - 255 * share), int(255 - 141 * share), int(255 - 77 * share))
                fill = "rgb({},{},{})".format(*rgb)
                out.append(_el("rect", x=x, y=y, width=w, height=h, fill=fill, stroke="#fff"))
                colour = "#ffffff" if share > 0.6 else INK
                out.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + h / 2 + 4:.1f}" font-size="11" '
                    f'text-anchor="middle" fill="{colour}">{escape(_fmt(v, None))}</text>'
                )
        return out
    x, y = list(t.get("x", [])), list(t.get("y", []))
    if kind == "bar":
        horizontal = t.get("orientation") == "h"
        cat, val = (yaxis, xaxis) if horizontal else (xaxis, yaxis)
        cats, vals = (y, x) if horizontal else (x, y)
        if "_width" in t:
            thick = abs(xaxis.at(t["_width"]) - xaxis.at(0)) * 0.95
        else:
            thick = (cat.band() if cat.categorical else 12) * 0.7 / max(1, min(bars, 3))
        err = t.get("error_x" if horizontal else "error_y") or {}
        for k, (c, v) in enumerate(zip(cats, vals, strict=False)):
            number = _number(v)
            if number is None:
                continue
            centre, zero, end = cat.at(c), val.at(0), val.at(number)
            colour = _colour(t, i, k)
            if horizontal:
                out.append(
                    f'<rect x="{min(zero, end):.1f}" y="{centre - thick / 2:.1f}" '
                    f'width="{abs(end - zero):.1f}" height="{thick:.1f}" fill="{colour}"/>'
                )
            else:
                out.append(
                    f'<rect x="{centre - thick / 2:.1f}" y="{min(zero, end):.1f}" '
                    f'width="{thick:.1f}" height="{abs(end - zero):.1f}" fill="{colour}" '
                    f'fill-opacity="{t.get("opacity", 1)}"/>'
                )
            if err.get("array"):
                up = _number(err["array"][k]) or 0.0
                down = _number((err.get("arrayminus") or err["array"])[k]) or 0.0
                a, b = val.at(number - down), val.at(number + up)
                if horizontal:
                    out.append(_el("line", x1=a, x2=b, y1=centre, y2=centre, stroke=INK))
                else:
                    out.append(_el("line", x1=centre, x2=centre, y1=a, y2=b, stroke=INK))
                    for e in (a, b):
                        out.append(
                            _el("line", x1=centre - 5, x2=centre + 5, y1=e, y2=e, stroke=INK)
                        )
        return out
    # scatter: lines and/or markers; None breaks a line
    mode = t.get("mode", "lines+markers" if len(x) < 20 else "lines")
    colour = _colour(t, i)
    points = [
        (xaxis.at(a), yaxis.at(b)) if _number(b) is not None and a is not None else None
        for a, b in zip(x, y, strict=False)
    ]
    dash = (t.get("line") or {}).get("dash")
    if "lines" in mode:
        run: list[tuple[float, float]] = []
        for p in [*points, None]:
            if p is None:
                if len(run) > 1:
                    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in run)
                    extra = {"stroke_dasharray": "4,3"} if dash else {}
                    out.append(
                        _el(
                            "polyline",
                            points=path,
                            fill="none",
                            stroke=colour,
                            stroke_width=2,
                            **extra,
                        )
                    )
                run = []
            else:
                run.append(p)
    if "markers" in mode:
        for p in points:
            if p is not None:
                out.append(_el("circle", cx=p[0], cy=p[1], r=2.5, fill=colour, fill_opacity=0.7))
    return out
