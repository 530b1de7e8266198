"""The metrics a version is evaluated on: one table of their names, meanings and directions.

Registration computes them (``registry.catalog.evaluation``); the model card, the dashboard,
the comparison and promotion's "better or worse" all read their words and direction here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    label: str  # how a page names it
    help: str  # one sentence a business user can act on
    lower_is_better: bool = False
    scale: str = ""  # what its axis says, where scores of different kinds sit side by side


METRICS = {
    "accuracy": Metric(
        "Accuracy",
        "Share of reference rows given the right class. Higher is better.",
        scale="Accuracy: share right",
    ),
    "balanced_accuracy": Metric(
        "Balanced accuracy",
        "Accuracy averaged over the classes, so a rare class counts as much as a common one. "
        "Higher is better.",
    ),
    "f1": Metric(
        "F1",
        "Balance of catching the cases (recall) and being right when it says so (precision), "
        "0 to 1. Higher is better.",
    ),
    "roc_auc": Metric(
        "ROC AUC",
        "How well it ranks a true case above a false one: 1 is perfect, 0.5 is a coin toss. "
        "Higher is better.",
        scale="ROC AUC: 1 perfect, 0.5 guessing",
    ),
    "log_loss": Metric(
        "Log loss",
        "Penalises confident wrong answers; 0 would be perfectly confident and right. "
        "Lower is better.",
        lower_is_better=True,
    ),
    "rmse": Metric(
        "RMSE",
        "Typical size of an error, in the target's units; large misses weigh more. "
        "Lower is better.",
        lower_is_better=True,
    ),
    "mae": Metric(
        "Mean absolute error",
        "Average size of an error, in the target's units. Lower is better.",
        lower_is_better=True,
    ),
    "macro_recall": Metric(
        "Macro recall",
        "Recall averaged over the classes: the share of each class's rows given that class. "
        "Higher is better.",
    ),
    "r2": Metric(
        "R²",
        "Share of the variation in the target the model explains: 1 is perfect, 0 is no better "
        "than always guessing the average. Higher is better.",
        scale="R²: 1 perfect, 0 = the average",
    ),
}


def metric_label(key: str) -> str:
    """How a page names metric ``key`` (the key itself for one not in the table)."""
    found = METRICS.get(key)
    return found.label if found else key
