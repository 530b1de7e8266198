"""Reads of fairness: each sensitive input's groups and their figures, on the version's
reference rows or on its answers with feedback, with the recourse the worker measured."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.core.cache import caches
from django.core.exceptions import ValidationError

from registry.explain.explanations import score_batch
from registry.fairness.figures import SMALL_GROUP, group_figures
from registry.fairness.groups import bin_edges, groups_of
from registry.fairness.recourse import RecourseRows
from registry.interface import Interface
from registry.models import ModelVersion, Prediction, VersionReport
from registry.runtime import version_cached, version_estimator, version_interface, version_key

ON = ("reference", "feedback")
FEEDBACK_ROWS = 5000  # the newest rows with feedback read (a bounded sample, as monitoring)
PERIOD_DAYS = 7
FEEDBACK_SECONDS = 600


@dataclass
class Rows:
    """Rows to compare groups on: raw values (inputs and kept columns), the answers given,
    the true answers (or None), and when each was given (answers only)."""

    raw: pd.DataFrame
    predicted: pd.Series
    actual: pd.Series | None
    when: pd.Series | None = None
    inputs: pd.DataFrame | None = None


def _answers(version: ModelVersion, interface: Interface, inputs: pd.DataFrame) -> pd.Series:
    scores = score_batch(version_estimator(version), inputs, interface)
    if interface.task == "regression":
        return pd.Series(np.asarray(scores.values, dtype=float))
    return pd.Series([str(label) for label in scores.labels], dtype=object)


def _truth(interface: Interface, values: pd.Series) -> pd.Series:
    if interface.task == "regression":
        return pd.to_numeric(values, errors="coerce").astype(float)
    return values.map(lambda v: None if v is None else str(v)).astype(object)


def reference_rows(version: ModelVersion) -> Rows | None:
    """The version's reference rows with its answers on them, once per process (revision)."""

    def build() -> Rows | None:
        if not version.reference_sample:
            return None
        interface = version_interface(version)
        raw = pd.DataFrame.from_records(version.reference_sample)
        records = [{n: r.get(n) for n in interface.names} for r in version.reference_sample]
        inputs = interface.validate(records).frame
        target = interface.output.get("target")
        actual = _truth(interface, raw[target]) if target and target in raw else None
        return Rows(
            raw=raw, predicted=_answers(version, interface, inputs), actual=actual, inputs=inputs
        )

    return version_cached(version, "fairness:reference", build)


def feedback_rows(version: ModelVersion, limit: int = FEEDBACK_ROWS) -> Rows | None:
    """The newest stored answers of the version that have feedback, flattened to rows."""
    interface = version_interface(version)
    found = (
        Prediction.objects.filter(version=version, feedback__isnull=False)
        .order_by("-created_at")
        .values_list("inputs", "outputs", "feedback", "created_at")
    )
    raw, predicted, actual, when = [], [], [], []
    for inputs, outputs, feedback, created in found.iterator(chunk_size=500):
        if not isinstance(inputs, list) or not isinstance(outputs, list):
            continue
        truths = feedback if isinstance(feedback, list) else [feedback] * len(inputs)
        if len(truths) != len(inputs):
            continue
        for row, output, truth in zip(inputs, outputs, truths, strict=False):
            if not isinstance(row, dict) or not isinstance(output, dict):
                continue
            raw.append(row)
            predicted.append(output.get("label", output.get("value")))
            actual.append(truth)
            when.append(created)
        if len(raw) >= limit:
            break
    if not raw:
        return None
    return Rows(
        raw=pd.DataFrame.from_records(raw[:limit]),
        predicted=_truth(interface, pd.Series(predicted[:limit], dtype=object)),
        actual=_truth(interface, pd.Series(actual[:limit], dtype=object)),
        when=pd.Series(when[:limit]),
    )


def positive_class(interface: Interface) -> str | None:
    """The class a binary classifier's TPR and FPR are about: the favourable one if named,
    else the second (scikit-learn's positive label)."""
    classes = [str(c) for c in interface.classes]
    if interface.task != "classification" or len(classes) != 2:
        return None
    favourable = interface.output.get("favourable")
    return str(favourable) if str(favourable) in classes else classes[1]


def sensitive_groups(version: ModelVersion, raw: pd.DataFrame) -> dict[str, tuple[pd.Series, bool]]:
    """Each sensitive input's group per row of ``raw`` (binned by the reference rows' quantiles
    when it has many values), and whether it was binned. Inputs ``raw`` lacks are left out."""
    interface = version_interface(version)
    reference = pd.DataFrame.from_records(version.reference_sample or [{}])
    out = {}
    for name in interface.sensitive:
        if name not in raw:
            continue
        source = reference[name] if name in reference else raw[name]
        edges = bin_edges(source.astype(object)) if _numeric(interface, name, source) else None
        out[name] = (groups_of(raw[name].astype(object), edges), edges is not None)
    return out


def _numeric(interface: Interface, name: str, values: pd.Series) -> bool:
    if name in interface.by_name:
        return interface.by_name[name].type in ("number", "integer")
    present = values.dropna()
    return len(present) > 0 and pd.api.types.is_numeric_dtype(present.infer_objects())


def _figures(
    interface: Interface, rows: Rows, groups: pd.Series, positive, only=None
) -> dict[str, Any]:
    return group_figures(
        task=interface.task,
        classes=[str(c) for c in interface.classes],
        predicted=rows.predicted,
        actual=rows.actual,
        groups=groups,
        positive=positive,
        only=only,
    )


def _over_time(interface: Interface, rows: Rows, groups: pd.Series, positive) -> list[dict]:
    """The gap between groups per week of answers (accuracy, or MAE for a regressor)."""
    key = "mae" if interface.task == "regression" else "accuracy"
    weeks = pd.to_datetime(rows.when, utc=True).dt.floor("D")
    start = weeks.min()
    period = ((weeks - start).dt.days // PERIOD_DAYS).to_numpy()
    points = []
    for p in sorted(set(period)):
        mask = period == p
        part = Rows(
            raw=rows.raw[mask],
            predicted=rows.predicted[mask].reset_index(drop=True),
            actual=rows.actual[mask].reset_index(drop=True),
        )
        figures = _figures(
            interface, part, groups[mask].reset_index(drop=True), positive, only=(key,)
        )
        gap = (figures["largest_difference"] or {}).get(key)
        points.append(
            {
                "period": (start + dt.timedelta(days=int(p) * PERIOD_DAYS)).date().isoformat(),
                "rows": int(mask.sum()),
                "metric": key,
                "largest_difference": gap,
            }
        )
    return points


def fairness_report(*, version: ModelVersion, on: str = "reference") -> dict[str, Any]:
    """Per sensitive input, per group: the figures of ``registry.fairness.figures`` on the
    reference rows (``on="reference"``, cached per revision) or on the answers with feedback,
    plus recourse when the worker has measured it. Raises ``ValidationError`` for another
    ``on``."""
    if on not in ON:
        raise ValidationError({"on": [f"Choose one of: {', '.join(ON)}."]})
    if on == "reference":
        return version_cached(version, "fairness:report", lambda: _report(version, on))
    # Answers with feedback keep coming: their figures (a MetricFrame per input and week,
    # about 1 s on 5,000 rows) are kept for a few minutes, as monitoring keeps its statuses.
    pk, created, revision = version_key(version)
    key = f"fairness-feedback:{pk}:{created.timestamp()}:{revision}"
    found = caches["monitoring"].get(key)
    if found is None:
        found = _report(version, on)
        caches["monitoring"].set(key, found, FEEDBACK_SECONDS)
    return found


def _report(version: ModelVersion, on: str) -> dict[str, Any]:
    interface = version_interface(version)
    positive = positive_class(interface)
    rows = reference_rows(version) if on == "reference" else feedback_rows(version)
    report: dict[str, Any] = {
        "model": version.model.name,
        "version": version.number,
        "on": on,
        "task": interface.task,
        "favourable": interface.output.get("favourable"),
        "positive": positive,
        "rows": 0 if rows is None else len(rows.predicted),
        "small_group": SMALL_GROUP,
        "inputs": [],
        "notes": [],
    }
    if not interface.sensitive:
        report["notes"].append("No input is marked sensitive.")
        return report
    if rows is None:
        report["notes"].append(
            "This version has no reference rows."
            if on == "reference"
            else "No answer of this version has feedback yet."
        )
        return report
    if rows.actual is None:
        report["notes"].append(
            "The reference rows have no target: only counts and answers given are compared."
        )
    for name, (groups, binned) in sensitive_groups(version, rows.raw).items():
        figures = _figures(interface, rows, groups, positive)
        if binned:  # bins read in order of their values, not of their sizes
            figures["groups"].sort(key=lambda g: _lower_edge(g["group"]))
        entry = {
            "input": name,
            "label": interface.label_of(name),
            "kept": name not in interface.by_name,
            "binned": binned,
            **figures,
            "recourse": [],
        }
        if on == "feedback":
            entry["over_time"] = _over_time(interface, rows, groups, positive)
        entry["sentences"] = fairness_sentences(entry, interface, positive)
        report["inputs"].append(entry)
    missing = [n for n in interface.sensitive if n not in rows.raw]
    if missing:
        report["notes"].append(
            "Not in the answers (kept from the reference data only): " + ", ".join(missing) + "."
        )
    return report


def _lower_edge(label: str) -> float:
    try:
        return float(label.split("–")[0])
    except ValueError:
        return float("inf")  # MISSING last


def recourse_rows(version: ModelVersion) -> RecourseRows | None:
    """The reference rows recourse is searched from, or None without any."""
    rows = reference_rows(version)
    if rows is None:
        return None
    interface = version_interface(version)
    favourable = interface.output.get("favourable")
    if interface.task == "regression":
        low, high = favourable.get("min"), favourable.get("max")
        values = rows.predicted.to_numpy(dtype=float)
        inside = np.ones(len(values), bool)
        if low is not None:
            inside &= values >= low
        if high is not None:
            inside &= values <= high
        unfavourable = ~inside
    else:
        unfavourable = rows.predicted.to_numpy() != str(favourable)
    groups = {name: g for name, (g, _) in sensitive_groups(version, rows.raw).items()}
    return RecourseRows(inputs=rows.inputs, groups=groups, unfavourable=unfavourable)


def recourse_report(*, version: ModelVersion, key: str) -> VersionReport | None:
    """The stored recourse report of ``version`` made for ``key``, if any."""
    return VersionReport.objects.filter(
        version=version, kind=VersionReport.Kind.RECOURSE, key=key
    ).first()


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def fairness_sentences(entry: dict[str, Any], interface: Interface, positive) -> list[str]:
    """What a group comparison says, in plain sentences."""
    label = entry["label"]
    groups = [g for g in entry["groups"] if not g["small"]]
    sentences = []
    small = [g["group"] for g in entry["groups"] if g["small"]]
    if small:
        sentences.append(
            f"Too few rows to judge (under {SMALL_GROUP}): {', '.join(small)}; "
            "their figures are shown but not compared."
        )
    if len(groups) < 2:
        sentences.append(f"{label}: fewer than two groups large enough to compare.")
        return sentences
    if interface.task == "regression":
        keys = [("mae", "the mean absolute error"), ("mean_prediction", "the mean answer")]
        for key, words in keys:
            known = [g for g in groups if g.get(key) is not None]
            if len(known) >= 2:
                lo = min(known, key=lambda g: g[key])
                hi = max(known, key=lambda g: g[key])
                sentences.append(
                    f"By {label.lower()}, {words} ranges from {lo[key]:.3g} ({lo['group']}) "
                    f"to {hi[key]:.3g} ({hi['group']})."
                )
        return sentences
    shown = str(interface.output.get("favourable") or positive or interface.classes[0])
    rates = [(g["group"], (g.get("selection_rate") or {}).get(shown)) for g in groups]
    rates = [(name, r) for name, r in rates if r is not None]
    if rates:
        lo, hi = min(rates, key=lambda x: x[1]), max(rates, key=lambda x: x[1])
        sentences.append(
            f"By {label.lower()}, the answer “{shown}” is given to {_pct(lo[1])} of "
            f"{lo[0]} rows and {_pct(hi[1])} of {hi[0]} rows "
            f"(a ratio of {lo[1] / hi[1]:.2f})."
            if hi[1]
            else f"By {label.lower()}, no group is given the answer “{shown}”."
        )
    known = [g for g in groups if g.get("accuracy") is not None]
    if len(known) >= 2:
        lo = min(known, key=lambda g: g["accuracy"])
        hi = max(known, key=lambda g: g["accuracy"])
        sentences.append(
            f"The model is right for {_pct(hi['accuracy'])} of {hi['group']} rows and "
            f"{_pct(lo['accuracy'])} of {lo['group']} rows."
        )
    return sentences
