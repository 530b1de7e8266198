"""The dossier's figures, as vector SVG: the card's own figures (``charts`` builders) drawn
by ``charts.svg`` without a browser."""

from __future__ import annotations

from typing import Any

from charts.dossier import mean_abs_effects
from charts.svg import to_svg
from portal.charting.catalog import evaluation_figures_of
from portal.charting.fairness import fairness_figures


def _evaluation(content: dict[str, Any]) -> dict[str, Any]:
    return evaluation_figures_of(
        content["evaluation"],
        target=content["interface"]["output"].get("target") or "prediction",
        labels={i["name"]: i["label"] for i in content["interface"]["inputs"]},
    )


def dossier_figures(content: dict[str, Any]) -> dict[str, Any]:
    """``{"evaluation": {name: svg}, "importance": svg | None, "fairness": {input: {name:
    svg}}}`` for the dossier's template."""
    importance = content.get("importance")
    fairness = content.get("fairness")
    return {
        "evaluation": {k: to_svg(f) for k, f in _evaluation(content).items()},
        "importance": to_svg(
            mean_abs_effects(importance["items"], probability=importance["probability"]),
            height=90 + 24 * min(15, len(importance["items"])),
        )
        if importance and importance["items"]
        else None,
        "fairness": {
            charted["input"]: {k: to_svg(f, height=260) for k, f in charted["figures"].items()}
            for charted in (fairness_figures(fairness) if fairness else [])
        },
    }
