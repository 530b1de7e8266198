"""Figures of a batch job: its answers and its refused rows."""

from __future__ import annotations

import charts
from charts import Figure
from portal.charting.predict import input_labels
from registry.models import BatchJob


def job_figures(job: BatchJob) -> dict[str, Figure]:
    """A finished batch job's graphs, from its summary: the distribution of the predicted
    values (or the count of each class), and the prediction against each top input."""
    summary, output = job.summary or {}, job.version.interface["output"]
    target = output.get("target") or "prediction"
    figures: dict[str, Figure] = {}
    if "class_counts" in summary:
        figures["distribution"] = charts.class_counts(summary["class_counts"])
    elif summary.get("values"):
        figures["distribution"] = charts.value_histogram(
            summary["values"], target=target, unit=output.get("unit")
        )
    sample = summary.get("sample") or {}
    if sample.get("inputs") and sample.get("prediction"):
        n = len(sample["prediction"])
        labels = input_labels(job.version)
        figures["by_input"] = charts.prediction_by_input(
            {labels.get(k, k): v[:n] for k, v in sample["inputs"].items()},
            sample["prediction"],
            target=target,
        )
    return figures
