"""Figures of the monitoring page and its API: traffic, latency, drift and performance."""

from __future__ import annotations

from typing import Any

import charts
from registry.catalog.metrics import metric_label
from registry.models import ModelVersion
from registry.runtime import version_interface


def monitoring_figures(version: ModelVersion, report: dict[str, Any]) -> dict[str, Any]:
    """The monitoring page's figures from :func:`registry.monitoring.monitoring_report`
    (built with distributions): traffic, one overlay per input (drifted first, as the report
    orders them), the answers' overlay, drift over time, performance from feedback and
    performance estimated without it."""
    interface = version_interface(version)
    drift = report["drift"]
    shown = drift.get("distributions") or {}
    inputs = []
    for result in drift["inputs"]:
        name = result["input"]
        if name not in shown:
            continue
        field = interface.by_name[name]
        inputs.append(
            {
                "result": result,
                "figure": charts.distribution_overlay(
                    field.spec.get("label") or name,
                    shown[name],
                    drifted=result["drifted"],
                    unit=field.spec.get("unit"),
                ),
            }
        )
    performance = report.get("performance")
    estimated = report.get("estimated_performance")
    output = drift.get("output")
    shares = drift.get("output_distribution")
    target = interface.output.get("target") or "prediction"
    return {
        "output": charts.distribution_overlay(
            target,
            shares,
            drifted=bool(output and output["drifted"]),
            unit=interface.output.get("unit"),
            heading=f"Answers: predicted {target}",
        )
        if shares
        else None,
        "traffic": charts.traffic(report["traffic"]["series"], window=report["traffic"]["window"]),
        "inputs": inputs,
        "drift_over_time": charts.drift_over_time(
            report["drift_over_time"],
            [r["input"] for r in drift["inputs"]],
            {f.name: f.spec.get("label") or f.name for f in interface.fields},
        )
        if report.get("drift_over_time")
        else None,
        "performance": charts.performance(
            performance["series"],
            metric=performance["metric"],
            reference=performance["reference"],
            label=metric_label(performance["metric"]),
        )
        if performance and performance["series"]
        else None,
        "quality": charts.quality_rates(report["quality"])
        if any(
            q[k]
            for q in report["quality"]
            for k in ("missing", "out_of_range", "unseen_categories")
        )
        else None,
        "estimated_performance": charts.estimated_performance(
            estimated["series"],
            metric=estimated["metric"],
            reference=estimated["reference"],
            method=estimated["method"],
            label=metric_label(estimated["metric"]),
        )
        if estimated and any(p["estimate"] is not None for p in estimated["series"])
        else None,
    }
