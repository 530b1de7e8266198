"""Metrics and evaluation curves of a version, computed once at registration.

The numbers land on the version (``metrics``) and the curves (``evaluation``) feed the model
card's charts, so a page never recomputes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.inspection import permutation_importance

from registry.catalog.metrics import METRICS
from registry.inference import score
from registry.interface import Interface, native

# Rows used for permutation importance; enough for a stable ranking, quick to register.
IMPORTANCE_ROWS = 1000
# Metrics where the smaller number is the better model; every other one: the larger.
LOWER_IS_BETTER = frozenset(k for k, m in METRICS.items() if m.lower_is_better)
CURVE_POINTS = 200
SCATTER_POINTS = 500


def metric_probabilities(proba: np.ndarray | None) -> np.ndarray | None:
    """Probabilities as the metrics take them: each row summing to one in float64. A float32
    booster's rows sum to one within float32's precision only, and scikit-learn's log loss
    and ROC AUC warn about that; the answers themselves are stored as the model gave them."""
    if proba is None:
        return None
    proba = np.asarray(proba, dtype="float64")
    return proba / proba.sum(axis=1, keepdims=True)


def _thin(*arrays: np.ndarray, points: int = CURVE_POINTS) -> list[list[float]]:
    """Keep at most ``points`` evenly spaced entries of curves that may have thousands."""
    n = len(arrays[0])
    index = np.unique(np.linspace(0, n - 1, min(n, points)).round().astype(int)) if n else []
    return [np.asarray(a, dtype="float64")[index].round(5).tolist() for a in arrays]


def classification_evaluation(
    estimator: Any, interface: Interface, frame: pd.DataFrame, y: pd.Series
) -> tuple[dict, dict]:
    """A classifier's metrics and curves (confusion matrix, ROC, precision-recall) on rows."""
    scores = score(estimator, frame, interface)
    classes = scores.classes
    names = [str(c) for c in classes]
    actual = np.array([str(native(v)) for v in y], dtype=object)
    predicted = np.array([str(v) for v in scores.labels], dtype=object)
    binary = len(classes) == 2
    metrics: dict[str, float] = {
        "accuracy": skm.accuracy_score(actual, predicted),
        "balanced_accuracy": skm.balanced_accuracy_score(actual, predicted),
        "f1": skm.f1_score(
            actual,
            predicted,
            average="binary" if binary else "macro",
            pos_label=names[1] if binary else 1,
            zero_division=0,
        ),
    }
    evaluation: dict[str, Any] = {
        "confusion_matrix": {
            "labels": names,
            "matrix": skm.confusion_matrix(actual, predicted, labels=names).tolist(),
        }
    }
    proba = metric_probabilities(scores.probabilities)
    present = set(actual)
    if proba is not None and len(present) > 1:
        metrics["log_loss"] = skm.log_loss(actual, proba, labels=names)
        if binary:
            metrics["roc_auc"] = skm.roc_auc_score(actual == names[1], proba[:, 1])
        elif present == set(names):
            metrics["roc_auc"] = skm.roc_auc_score(
                actual, proba, multi_class="ovr", average="macro", labels=names
            )
        roc, pr = [], []
        for i, name in enumerate(names):
            if binary and i == 0:
                continue  # one curve tells the whole story for two classes
            positive = actual == name
            if not positive.any() or positive.all():
                continue
            fpr, tpr, _ = skm.roc_curve(positive, proba[:, i])
            precision, recall, _ = skm.precision_recall_curve(positive, proba[:, i])
            fpr_t, tpr_t = _thin(fpr, tpr)
            recall_t, precision_t = _thin(recall, precision)
            roc.append(
                {
                    "class": name,
                    "fpr": fpr_t,
                    "tpr": tpr_t,
                    "auc": round(float(skm.auc(fpr, tpr)), 5),
                }
            )
            pr.append(
                {
                    "class": name,
                    "recall": recall_t,
                    "precision": precision_t,
                    "average_precision": round(
                        float(skm.average_precision_score(positive, proba[:, i])), 5
                    ),
                }
            )
        evaluation["roc"] = roc
        evaluation["precision_recall"] = pr
    return metrics, evaluation


def regression_evaluation(
    estimator: Any, interface: Interface, frame: pd.DataFrame, y: pd.Series
) -> tuple[dict, dict]:
    """A regressor's metrics and curves (predicted vs. actual, residuals) on rows."""
    predicted = score(estimator, frame, interface).values
    actual = y.to_numpy(dtype="float64")
    metrics = {
        "rmse": float(np.sqrt(skm.mean_squared_error(actual, predicted))),
        "mae": skm.mean_absolute_error(actual, predicted),
        "r2": skm.r2_score(actual, predicted),
    }
    step = max(1, len(actual) // SCATTER_POINTS)
    evaluation = {
        "predicted_vs_actual": {
            "actual": actual[::step].round(5).tolist(),
            "predicted": predicted[::step].round(5).tolist(),
        },
        "residuals": (actual - predicted).round(5).tolist()[: SCATTER_POINTS * 4],
    }
    return metrics, evaluation


def evaluate(
    estimator: Any, interface: Interface, frame: pd.DataFrame, y: pd.Series
) -> tuple[dict[str, float], dict[str, Any]]:
    """Metrics and curves of an estimator on reference rows with known outcomes.

    Classifiers: accuracy, balanced accuracy, F1, ROC AUC and log loss, with the confusion
    matrix, ROC and precision-recall curves. Regressors: RMSE, MAE and R², with predicted vs.
    actual and residuals. Both: permutation importance of every input.
    """
    known = y.notna().to_numpy()
    frame, y = frame.loc[known].reset_index(drop=True), y.loc[known].reset_index(drop=True)
    if interface.task == "classification":
        metrics, evaluation = classification_evaluation(estimator, interface, frame, y)
        scoring = "accuracy"
        y_fit = y.map(lambda v: native(v))
    else:
        metrics, evaluation = regression_evaluation(estimator, interface, frame, y)
        scoring = "r2"
        y_fit = y
    sample = frame.index[:IMPORTANCE_ROWS]
    result = permutation_importance(
        estimator,
        frame.loc[sample],
        y_fit.loc[sample],
        n_repeats=5,
        random_state=0,
        scoring=scoring,
    )
    evaluation["importance"] = sorted(
        (
            {"feature": name, "mean": round(float(m), 6), "std": round(float(s), 6)}
            for name, m, s in zip(
                frame.columns, result.importances_mean, result.importances_std, strict=True
            )
        ),
        key=lambda item: -item["mean"],
    )
    evaluation["importance_scoring"] = scoring
    evaluation["rows"] = len(frame)
    return {k: round(float(v), 6) for k, v in metrics.items()}, evaluation


def metric_verdict(key: str, before: float | None, after: float | None) -> str | None:
    """Whether ``after`` is "better", "worse" or "same" as ``before`` on metric ``key``
    (differences below 0.0005, what a page shows, count as the same); None if one is missing."""
    if before is None or after is None:
        return None
    if abs(after - before) < 5e-4:
        return "same"
    improved = after < before if key in LOWER_IS_BETTER else after > before
    return "better" if improved else "worse"
