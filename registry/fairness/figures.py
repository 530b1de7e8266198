"""Each group's figures, computed by fairlearn's ``MetricFrame``.

Every figure is a plain function of the group's true and predicted values that says NaN
(shown as null) when its denominator is empty: a group with no positive rows has no true
positive rate, never a zero from a division by zero. Groups with fewer than ``SMALL_GROUP``
rows are shown and flagged; the largest difference and the smallest ratio are taken between
the other groups only (one row's accuracy is 0 or 1, and would be every gap).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

SMALL_GROUP = 20
Z95 = 1.959964


def _share(hit: np.ndarray, among: np.ndarray) -> float:
    n = int(among.sum())
    return float(hit[among].mean()) if n else math.nan


def _count(y_true, y_pred) -> float:
    return float(len(y_pred))


def _selection(label: str) -> Callable:
    return lambda y_true, y_pred: _share(np.asarray(y_pred) == label, np.ones(len(y_pred), bool))


def _accuracy(y_true, y_pred) -> float:
    return _share(np.asarray(y_true) == np.asarray(y_pred), np.ones(len(y_pred), bool))


def _recall(label: str) -> Callable:
    """Share of the rows truly ``label`` that were given ``label`` (the TPR of a binary one)."""
    return lambda y_true, y_pred: _share(np.asarray(y_pred) == label, np.asarray(y_true) == label)


def _fpr(label: str) -> Callable:
    """Share of the rows truly not ``label`` that were given ``label``."""
    return lambda y_true, y_pred: _share(np.asarray(y_pred) == label, np.asarray(y_true) != label)


def _mae(y_true, y_pred) -> float:
    return float(np.mean(np.abs(np.asarray(y_true, float) - np.asarray(y_pred, float))))


def _mean_prediction(y_true, y_pred) -> float:
    return float(np.mean(np.asarray(y_pred, float)))


def metric_functions(
    *, task: str, classes: list[str], positive: str | None, labelled: bool
) -> dict[str, Callable]:
    """The figures of a task, flat, by key: ``selection_rate:<class>``, ``recall:<class>`` …

    Without true values (``labelled`` false) only counts and what was predicted remain.
    """
    metrics: dict[str, Callable] = {"count": _count}
    if task == "regression":
        metrics["mean_prediction"] = _mean_prediction
        if labelled:
            metrics["mae"] = _mae
        return metrics
    for c in classes:
        metrics[f"selection_rate:{c}"] = _selection(c)
    if not labelled:
        return metrics
    metrics["accuracy"] = _accuracy
    if len(classes) == 2 and positive is not None:
        metrics["tpr"] = _recall(positive)
        metrics["fpr"] = _fpr(positive)
    else:
        for c in classes:
            metrics[f"recall:{c}"] = _recall(c)
    return metrics


def _nested(flat: dict[str, float]) -> dict[str, Any]:
    """``{"selection_rate:a": x}`` as ``{"selection_rate": {"a": x}}``; NaN as None."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        value = None if value is None or not math.isfinite(value) else round(float(value), 6)
        if ":" in key:
            head, tail = key.split(":", 1)
            out.setdefault(head, {})[tail] = value
        else:
            out[key] = value
    return out


def wilson(hits: float, n: float) -> list[float] | None:
    """The 95% Wilson interval of a share (None without rows): sound for 0, 1 and tiny n."""
    if not n:
        return None
    p = hits / n
    z2 = Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return [round(max(0.0, centre - half), 6), round(min(1.0, centre + half), 6)]


def _mean_interval(values: np.ndarray) -> list[float] | None:
    if len(values) < 2:
        return None
    mean, se = float(values.mean()), float(values.std(ddof=1)) / math.sqrt(len(values))
    return [round(mean - Z95 * se, 6), round(mean + Z95 * se, 6)]


def _intervals(
    task: str, classes: list[str], positive: str | None, y_true, y_pred
) -> dict[str, Any]:
    """95% intervals of a group's main figures (what the card's bars show)."""
    y_pred = np.asarray(y_pred)
    n = len(y_pred)
    if task == "regression":
        out: dict[str, Any] = {"mean_prediction": _mean_interval(y_pred.astype(float))}
        if y_true is not None:
            out["mae"] = _mean_interval(np.abs(np.asarray(y_true, float) - y_pred.astype(float)))
        return out
    out = {"selection_rate": {c: wilson(float((y_pred == c).sum()), n) for c in classes}}
    if y_true is not None:
        y_true = np.asarray(y_true)
        out["accuracy"] = wilson(float((y_true == y_pred).sum()), n)
        if len(classes) == 2 and positive is not None:
            pos = y_true == positive
            out["tpr"] = wilson(float((y_pred[pos] == positive).sum()), float(pos.sum()))
            out["fpr"] = wilson(float((y_pred[~pos] == positive).sum()), float((~pos).sum()))
    return out


def group_figures(
    *,
    task: str,
    classes: list[str],
    predicted: pd.Series,
    actual: pd.Series | None,
    groups: pd.Series,
    positive: str | None = None,
    only: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Figures per group of ``groups`` (one label per row), by ``MetricFrame``.

    ``predicted`` holds labels (as text) or values, ``actual`` the true ones or None.
    ``positive`` is the class whose TPR/FPR a binary classifier reports. ``only`` keeps those
    figures (and the count) when not all are wanted (the gap per week).
    """
    # fairlearn is imported here, not at the top, for its cost alone (no cycle): a process
    # that never reads fairness never pays it (python -X importtime: 9 ms after
    # scikit-learn's metrics, about 1 s in a process without them).
    from fairlearn.metrics import MetricFrame

    labelled = actual is not None
    metrics = metric_functions(task=task, classes=classes, positive=positive, labelled=labelled)
    if only is not None:
        metrics = {k: f for k, f in metrics.items() if k == "count" or k in only}
    y_true = actual if labelled else predicted
    frame = MetricFrame(
        metrics=metrics,
        y_true=np.asarray(y_true),
        y_pred=np.asarray(predicted),
        sensitive_features=pd.Series(np.asarray(groups, dtype=object), name="group"),
    )
    by_group = frame.by_group
    rows = []
    for group, figures in by_group.iterrows():
        mask = np.asarray(groups == group)
        count = int(figures["count"])
        entry = {"group": str(group), **_nested(figures.to_dict())}
        entry["count"] = count
        entry["small"] = count < SMALL_GROUP
        entry["intervals"] = _intervals(
            task,
            classes,
            positive,
            np.asarray(actual)[mask] if labelled else None,
            np.asarray(predicted)[mask],
        )
        rows.append(entry)
    rows.sort(key=lambda r: (-r["count"], r["group"]))
    compared = [r["group"] for r in rows if not r["small"]]
    gaps: dict[str, Any] = {"largest_difference": None, "smallest_ratio": None}
    if len(compared) >= 2:
        keep = np.isin(np.asarray(groups, dtype=object), compared)
        between = MetricFrame(
            metrics={k: f for k, f in metrics.items() if k != "count"},
            y_true=np.asarray(y_true)[keep],
            y_pred=np.asarray(predicted)[keep],
            sensitive_features=pd.Series(np.asarray(groups, dtype=object)[keep], name="group"),
        )
        gaps["largest_difference"] = _nested(between.difference(method="between_groups").to_dict())
        # A ratio over a zero largest value is NaN in fairlearn: shown as null.
        gaps["smallest_ratio"] = _nested(between.ratio(method="between_groups").to_dict())
    return {"groups": rows, "compared": compared, **gaps}
