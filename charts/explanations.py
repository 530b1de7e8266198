"""The figure of an explanation: a waterfall from the baseline to the answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from charts.theme import ACCENT, INK, WARNING, Figure, figure, title

# Inputs drawn one by one; the rest are summed in one bar, so the chart stays readable.
SHOWN_INPUTS = 10


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return "missing" if value is None else str(value)


def _short(text: str, most: int = 26) -> str:
    # Long labels would leave a phone's chart no room for its bars; the hover has the value.
    return text if len(text) <= most else text[: most - 1] + "…"


def explanation_waterfall(
    contributions: Sequence[Mapping[str, Any]],
    *,
    baseline: float,
    answer: float,
    explained: str,
    probability: bool,
    unit: str | None = None,
    shown: int = SHOWN_INPUTS,
    effect_text: Callable[[float], str] | None = None,
    answer_text: Callable[[float], str] | None = None,
) -> Figure:
    """Bars from the baseline (the average answer) through each input's effect to the answer.

    ``contributions`` are ``{"label", "value", "effect"}``; the largest effects come first and
    any beyond ``shown`` are summed in one "other inputs" bar, so the bars still end exactly at
    the answer. Pushes up and down differ in colour and in the sign of their text.
    ``effect_text`` and ``answer_text`` write the bars' numbers (the baseline and the answer
    with ``answer_text``), so they can read as the page's sentence and headline do.
    """
    ordered = sorted(contributions, key=lambda c: -abs(float(c["effect"])))
    kept, rest = ordered[:shown], ordered[shown:]
    # Label and value on two lines: the labels' width is what a phone's plot area loses.
    labels = [
        f"{_short(str(c['label']))}<br>= {_short(_value_text(c.get('value')), 18)}" for c in kept
    ]
    effects = [float(c["effect"]) for c in kept]
    if rest:
        labels.append(f"{len(rest)} other input{'s' * (len(rest) > 1)}")
        effects.append(sum(float(c["effect"]) for c in rest))
    fmt = ".1%" if probability else ".3g"
    suffix = f" {unit}" if unit and not probability else ""

    def text(v: float, signed: bool) -> str:
        if signed and effect_text is not None:
            return effect_text(v)
        if not signed and answer_text is not None:
            return answer_text(v)
        shown_v = f"{v:+{fmt}}" if signed else f"{v:{fmt}}"
        return shown_v.replace("-", "−") + suffix

    trace = {
        "type": "waterfall",
        "orientation": "h",
        "measure": ["absolute", *["relative"] * len(effects), "total"],
        "y": ["Average (baseline)", *labels, "This answer"],
        "x": [baseline, *effects, answer],
        "base": 0,
        "text": [text(baseline, False), *(text(e, True) for e in effects), text(answer, False)],
        "textposition": "outside",
        "cliponaxis": False,
        "increasing": {"marker": {"color": ACCENT}},
        "decreasing": {"marker": {"color": WARNING}},
        "totals": {"marker": {"color": INK}},
        "connector": {"line": {"color": "#9aa5b1", "width": 1}},
        "hovertemplate": "%{y}: %{text}<extra></extra>",
    }
    axis_title = explained[:1].upper() + explained[1:] + suffix
    layout: dict[str, Any] = {
        "title": title(f"Why: {explained}"),
        "xaxis": {"title": {"text": axis_title}},
        "yaxis": {"autorange": "reversed", "gridcolor": "rgba(0,0,0,0)"},
        "height": 140 + 36 * (len(effects) + 2),
        "showlegend": False,
        "margin": {"l": 16, "r": 56},
    }
    if probability:
        layout["xaxis"]["tickformat"] = ".0%"
    else:
        # Values rarely start at 0: show the span the bars walk through, not 0 to the answer.
        path = [baseline + sum(effects[:i]) for i in range(len(effects) + 1)] + [answer]
        low, high = min(path), max(path)
        # Room beside the bars for their signed text, which sits outside a bar's end.
        pad = (high - low) * 0.3 or abs(high) * 0.1 or 1.0
        layout["xaxis"]["range"] = [low - pad, high + pad]
    return figure([trace], layout)
