"""Figures of a fairness report: group bars with intervals, the gap over time, recourse."""

from __future__ import annotations

from typing import Any

from charts import Figure
from charts.fairness import gap_over_time, group_bars, recourse_bars


def headline_metric(report: dict[str, Any]) -> tuple[str, str, bool]:
    """The figure the bars show: (key, words, is a share) — accuracy, else the favourable
    (or positive) answer's selection rate; for a regressor MAE, else the mean answer."""
    labelled = any(
        g.get("accuracy") is not None or g.get("mae") is not None
        for e in report["inputs"]
        for g in e["groups"]
    )
    if report["task"] == "regression":
        return (
            ("mae", "Mean absolute error", False)
            if labelled
            else ("mean_prediction", "Mean answer", False)
        )
    return ("accuracy", "Accuracy", True) if labelled else ("selection", "Selection rate", True)


def _chosen_class(report: dict[str, Any], entry: dict[str, Any]) -> str | None:
    favourable = report.get("favourable")
    if isinstance(favourable, str):
        return favourable
    if report.get("positive"):
        return report["positive"]
    rates = next((g.get("selection_rate") for g in entry["groups"]), None) or {}
    return next(iter(rates), None)


def _bars_of(entry: dict[str, Any], key: str, shown_class: str | None) -> list[dict[str, Any]]:
    out = []
    for g in entry["groups"]:
        if key == "selection":
            value = (g.get("selection_rate") or {}).get(shown_class)
            interval = (g["intervals"].get("selection_rate") or {}).get(shown_class)
        else:
            value, interval = g.get(key), g["intervals"].get(key)
        out.append({**g, "value": value, "interval": interval})
    return out


def fairness_figures(report: dict[str, Any]) -> list[dict[str, Figure]]:
    """Per sensitive input: its group bars (and selection bars for a classifier), the gap
    over time (feedback only) and recourse per group, each a figure as plain JSON."""
    key, words, percent = headline_metric(report)
    out = []
    for entry in report["inputs"]:
        label = entry["label"]
        shown = _chosen_class(report, entry)
        figures: dict[str, Figure] = {
            "groups": group_bars(
                _bars_of(entry, key, shown),
                heading=f"{words} by {label.lower()} (95% intervals)",
                axis_title=label,
                percent=percent,
            )
        }
        if report["task"] == "classification" and key != "selection" and shown:
            figures["selection"] = group_bars(
                _bars_of(entry, "selection", shown),
                heading=f"Share answered “{shown}” by {label.lower()}",
                axis_title=label,
            )
        if entry.get("over_time"):
            figures["over_time"] = gap_over_time(
                entry["over_time"],
                heading=f"Largest {words.lower()} gap between {label.lower()} groups, per week",
                percent=percent,
            )
        if any(r.get("median_cost") is not None for r in entry.get("recourse", [])):
            figures["recourse"] = recourse_bars(
                entry["recourse"], heading=f"Recourse by {label.lower()}"
            )
        out.append({"input": entry["input"], "label": label, "figures": figures})
    return out
