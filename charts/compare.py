"""Figures that put several models' answers to the same inputs side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from charts.theme import PALETTE, Figure, figure, title

MAX_ROWS_SHOWN = 50


def compare_probabilities(
    models: Sequence[str],
    probabilities: Sequence[Mapping[str, float]],
    *,
    heading: str = "Class probabilities by model",
) -> Figure:
    """Grouped bars: one group per class, one bar per model (its probability of the class).

    ``probabilities[i]`` belongs to ``models[i]``. Classes appear in the order the models
    first name them, so models with different classes still share one axis.
    """
    named = [{str(c): float(p) for c, p in probs.items()} for probs in probabilities]
    classes = list(dict.fromkeys(c for probs in named for c in probs))
    data = [
        {
            "type": "bar",
            "name": model,
            "x": classes,
            "y": [probs.get(c, 0.0) for c in classes],
            "marker": {"color": PALETTE[i % len(PALETTE)]},
            "hovertemplate": f"{model}: %{{x}} %{{y:.1%}}<extra></extra>",
        }
        for i, (model, probs) in enumerate(zip(models, named, strict=True))
    ]
    return figure(
        data,
        {
            "barmode": "group",
            "title": title(heading),
            "yaxis": {"range": [0, 1], "tickformat": ".0%", "title": {"text": "Probability"}},
            "height": 360,
            "showlegend": True,
        },
    )


def compare_values(
    models: Sequence[str],
    values: Sequence[Sequence[float]],
    *,
    target: str,
    unit: str | None = None,
) -> Figure:
    """Grouped bars: one group per input row, one bar per model (its predicted value).

    ``values[i]`` are ``models[i]``'s answers, one per row; at most 50 rows are drawn.
    """
    rows = max((len(v) for v in values), default=0)
    names = [f"Row {r}" for r in range(min(rows, MAX_ROWS_SHOWN))]
    suffix = f" {unit}" if unit else ""
    data = [
        {
            "type": "bar",
            "name": model,
            "x": names,
            "y": [float(v) for v in row_values[: len(names)]],
            "marker": {"color": PALETTE[i % len(PALETTE)]},
            "hovertemplate": f"{model}: %{{x}} %{{y:,.4g}}{suffix}<extra></extra>",
        }
        for i, (model, row_values) in enumerate(zip(models, values, strict=True))
    ]
    return figure(
        data,
        {
            "barmode": "group",
            "title": title(f"Predicted {target} by model"),
            "yaxis": {"title": {"text": f"{target}{f' ({unit})' if unit else ''}"}},
            "height": 360,
            "showlegend": True,
        },
    )
