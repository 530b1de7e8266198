"""Performance estimated without labels, pure: arrays in, numbers out.

Feedback comes weeks late or never; these estimate today's figure from what the model
answers and from how right it was on its labelled reference rows.

- **CBPE** (classifiers, confidence-based performance estimation): if the probabilities are
  calibrated, the chance that an answer is right is the probability of the class it gave, so
  the expected accuracy of a period is the mean of those probabilities. The model's own
  probabilities are calibrated on the reference rows first when that helps (see
  :func:`calibration_fit`). ROC AUC (binary) and macro recall (multiclass) come from the
  same calibrated probabilities, as expected confusion counts.
- **DLE** (regressors, direct loss estimation): a small model of the absolute error, fitted
  on the reference rows from the inputs and the model's answer, predicts each answer's
  error; the expected MAE of a period is the mean of those predictions.

Both hold under covariate shift (the inputs move, the relation from inputs to outcome does
not), which is the shift monitoring sees; a change of that relation (concept drift) only
feedback shows.

The interval (95%) is a prediction interval for the figure the period's feedback will show.
It adds two variances: the period's outcomes are random even when every probability or
error model is right (Poisson-binomial for accuracy; label draws from the calibrated
probabilities for AUC and recall; the spread of absolute errors around their prediction
for MAE), and the calibration or error model, fitted on a few hundred reference rows, is
itself uncertain: the delete-a-group jackknife over ``FOLDS`` refits on the reference rows,
and never less than the sampling variance of the reference figure itself (an estimator
checked on 500 rows is not known better than those 500 rows measure it; without that floor a
model whose own probabilities pass the check would get no model term at all).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import Ridge

# Labelled reference rows needed before anything is estimated.
MIN_REFERENCE_LABELLED = 50
# Rows of a period needed before its figure is estimated.
MIN_PERIOD_ROWS = 30
# Refits on the reference rows for the jackknife (and the cross-validated checks).
FOLDS = 5
# Label draws per period for the sampling part of the AUC and recall intervals.
DRAWS = 300
Z95 = 1.959964
# Bins (of equal row count) of the expected calibration error.
ECE_BINS = 10


def _folds(n: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [order[i::FOLDS] for i in range(FOLDS)]


def _jackknife_var(estimates: Sequence[float]) -> float:
    """Delete-a-group jackknife variance of an estimate from its ``FOLDS`` leave-out refits."""
    values = np.asarray(estimates, dtype="float64")
    k = values.size
    return float((k - 1) / k * np.sum((values - values.mean()) ** 2)) if k > 1 else 0.0


# ---------------------------------------------------------------- CBPE (classifiers)
def expected_calibration_error(
    probabilities: np.ndarray, actual: np.ndarray, bins: int = ECE_BINS
) -> float:
    """ECE of the answers' confidence: rows in ``bins`` groups of equal size by the
    probability of the class answered, the row-weighted mean gap between that probability
    and how often the answer was right."""
    confidence = probabilities.max(axis=1)
    right = (probabilities.argmax(axis=1) == actual).astype("float64")
    order = np.argsort(confidence, kind="stable")
    gaps = [
        abs(confidence[part].mean() - right[part].mean()) * part.size
        for part in np.array_split(order, bins)
        if part.size
    ]
    return float(sum(gaps) / max(1, confidence.size))


@dataclass
class Calibration:
    """How a classifier's probabilities are mapped before they are trusted.

    ``method`` is ``isotonic`` (one increasing map per class, or of the positive class for two,
    rows renormalised) or ``none`` (the model's own probabilities held up better). ``folds``
    are the same fitted on the reference rows less one group each, for the jackknife.
    """

    classes: list[str]
    method: str
    maps: list[IsotonicRegression] | None
    folds: list[list[IsotonicRegression] | None] = field(default_factory=list)
    check: dict[str, Any] = field(default_factory=dict)
    # The sampling variance of the reference accuracy: the floor of the calibration term.
    floor: float = 0.0

    def apply(self, probabilities: np.ndarray, maps: Any = "own") -> np.ndarray:
        """Calibrated probabilities, rows summing to one."""
        chosen = self.maps if isinstance(maps, str) else maps
        if chosen is None:
            return probabilities
        if len(self.classes) == 2:
            positive = chosen[0].predict(probabilities[:, 1])
            return np.column_stack([1 - positive, positive])
        mapped = np.column_stack([m.predict(probabilities[:, k]) for k, m in enumerate(chosen)])
        total = mapped.sum(axis=1, keepdims=True)
        # A row every map sends to zero keeps the model's own probabilities.
        return np.where(total > 0, mapped / np.where(total > 0, total, 1), probabilities)


def _isotonic_maps(probabilities: np.ndarray, actual: np.ndarray) -> list[IsotonicRegression]:
    columns = [1] if probabilities.shape[1] == 2 else range(probabilities.shape[1])
    return [
        IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(
            probabilities[:, k], (actual == k).astype("float64")
        )
        for k in columns
    ]


def calibration_fit(
    probabilities: np.ndarray, actual: np.ndarray, classes: Sequence[str], *, seed: int = 0
) -> Calibration:
    """Calibrate a classifier's probabilities on labelled reference rows, if that helps.

    ``actual`` holds class indices. The check: each reference row is scored by isotonic
    maps fitted without its group (``FOLDS`` groups), and the maps are kept only when those
    out-of-group probabilities have a lower Brier score than the model's own. Both expected
    calibration errors are reported (``check``) so a reader sees how reliable the
    probabilities were and what calibration did.
    """
    n = len(actual)
    groups = _folds(n, seed)
    held_out = np.empty_like(probabilities, dtype="float64")
    fold_maps = []
    probe = Calibration(list(classes), "isotonic", None)
    for group in groups:
        keep = np.setdiff1d(np.arange(n), group)
        maps = _isotonic_maps(probabilities[keep], actual[keep])
        fold_maps.append(maps)
        held_out[group] = probe.apply(probabilities[group], maps)
    onehot = np.eye(len(classes))[actual]
    brier_raw = float(np.mean(np.sum((probabilities - onehot) ** 2, axis=1)))
    brier_calibrated = float(np.mean(np.sum((held_out - onehot) ** 2, axis=1)))
    check = {
        "rows": int(n),
        "ece_model": round(expected_calibration_error(probabilities, actual), 4),
        "ece_calibrated": round(expected_calibration_error(held_out, actual), 4),
        "brier_model": round(brier_raw, 4),
        "brier_calibrated": round(brier_calibrated, 4),
    }
    if brier_calibrated < brier_raw:
        found = Calibration(
            list(classes), "isotonic", _isotonic_maps(probabilities, actual), fold_maps, check
        )
    else:
        found = Calibration(list(classes), "none", None, [None] * FOLDS, check)
    confidence = found.apply(probabilities).max(axis=1)
    found.floor = float(np.sum(confidence * (1 - confidence))) / n**2
    return found


def expected_accuracy(calibrated: np.ndarray, answered: np.ndarray) -> float:
    """The mean probability of the class each row was answered with."""
    return float(calibrated[np.arange(len(answered)), answered].mean())


def expected_roc_auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """The ROC AUC expected when row i is positive with probability ``positive[i]``, rows
    ranked by the model's ``scores``: expected concordant pairs (ties half) over expected
    positive-negative pairs."""
    values, inverse = np.unique(scores, return_inverse=True)
    pos = np.bincount(inverse, weights=positive, minlength=values.size)
    neg = np.bincount(inverse, weights=1 - positive, minlength=values.size)
    below = np.cumsum(neg) - neg
    self_pairs = float(np.sum(positive * (1 - positive)))
    pairs = float(positive.sum() * (1 - positive).sum()) - self_pairs
    if pairs <= 0:
        return None
    concordant = float(np.sum(pos * (below + 0.5 * neg))) - 0.5 * self_pairs
    return concordant / pairs


def expected_macro_recall(calibrated: np.ndarray, answered: np.ndarray) -> float | None:
    """Per class, the expected right answers over the expected rows of that class; their mean
    over the classes the period is expected to hold."""
    recalls = []
    for k in range(calibrated.shape[1]):
        expected_rows = calibrated[:, k].sum()
        if expected_rows >= 1:
            recalls.append(calibrated[answered == k, k].sum() / expected_rows)
    return float(np.mean(recalls)) if recalls else None


def realized(metric: str, *, actual: np.ndarray, answered: np.ndarray, scores: np.ndarray | None):
    """The metric from labels: accuracy, ROC AUC (``scores``: the positive class's
    probability) or macro recall over the classes present (``None`` when undefined)."""
    if actual.size == 0:
        return None
    if metric == "accuracy":
        return float(np.mean(actual == answered))
    if metric == "roc_auc":
        positive = (actual == 1).astype("float64")
        if positive.min() == positive.max():
            return None
        return expected_roc_auc(scores, positive)  # with 0/1 labels it is the AUC itself
    recalls = [np.mean(answered[actual == k] == k) for k in np.unique(actual)]
    return float(np.mean(recalls))


def _metric_of(metric: str, calibrated: np.ndarray, answered: np.ndarray, scores: np.ndarray):
    if metric == "accuracy":
        return expected_accuracy(calibrated, answered)
    if metric == "roc_auc":
        return expected_roc_auc(scores, calibrated[:, 1])
    return expected_macro_recall(calibrated, answered)


def cbpe_metrics(classes: Sequence[str]) -> list[str]:
    """What CBPE estimates for a classifier: accuracy, then ROC AUC or macro recall."""
    return ["accuracy", "roc_auc" if len(classes) == 2 else "macro_recall"]


def cbpe_estimate(
    calibration: Calibration, probabilities: np.ndarray, *, metric: str, seed: int = 0
) -> dict[str, float] | None:
    """A period's expected ``metric`` with its 95% interval, from the model's probabilities
    (rows in ``calibration.classes`` order). ``None`` for too few rows."""
    if len(probabilities) < MIN_PERIOD_ROWS:
        return None
    answered = probabilities.argmax(axis=1)
    scores = probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities
    calibrated = calibration.apply(probabilities)
    estimate = _metric_of(metric, calibrated, answered, scores)
    if estimate is None:
        return None
    # Sampling: what the period's labels may show if the calibrated probabilities are right.
    if metric == "accuracy":
        p = calibrated[np.arange(len(answered)), answered]
        sampling = float(np.sum(p * (1 - p))) / len(p) ** 2
    else:
        rng = np.random.default_rng(seed)
        cumulative = np.cumsum(calibrated, axis=1)
        drawn = []
        for _ in range(DRAWS):
            labels = (rng.random((len(calibrated), 1)) > cumulative).sum(axis=1)
            labels = np.minimum(labels, calibrated.shape[1] - 1)
            value = realized(metric, actual=labels, answered=answered, scores=scores)
            if value is not None:
                drawn.append(value)
        sampling = float(np.var(drawn)) if len(drawn) > 1 else 0.0
    # Calibration: the same estimate with each leave-a-group-out calibration.
    folds = [
        _metric_of(metric, calibration.apply(probabilities, maps), answered, scores)
        for maps in calibration.folds
        if maps is not None
    ]
    model = max(calibration.floor, _jackknife_var([f for f in folds if f is not None]))
    half = Z95 * np.sqrt(sampling + model)
    return {
        "estimate": estimate,
        "low": max(0.0, estimate - half),
        "high": min(1.0, estimate + half),
    }


# ---------------------------------------------------------------- DLE (regressors)
@dataclass
class Encoding:
    """Raw input rows as a numeric matrix: numbers as they are and their distance from the
    reference median, booleans as 0/1, each category's reference values one-hot (an unseen
    value is all zeros), a missing number at its reference median; the answer last."""

    numbers: list[str]
    categories: dict[str, list[str]]
    medians: dict[str, float]

    def matrix(self, rows: Sequence[Mapping[str, Any]], answers: np.ndarray) -> np.ndarray:
        columns = []
        for name in self.numbers:
            values = np.array([_number(r.get(name)) for r in rows], dtype="float64")
            columns.append(np.where(np.isfinite(values), values, self.medians[name]))
        for name, values in self.categories.items():
            seen = [str(r.get(name)) for r in rows]
            columns.extend(np.array([s == v for s in seen], dtype="float64") for v in values)
        # How far each number is from its typical value: errors often grow away from the
        # middle of the reference (in both directions), which a linear model sees only so.
        columns.extend(
            np.abs(columns[i] - self.medians[name]) for i, name in enumerate(self.numbers)
        )
        columns.append(np.asarray(answers, dtype="float64"))
        return np.column_stack(columns)


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def encoding_fit(
    rows: Sequence[Mapping[str, Any]], inputs: Sequence[Mapping[str, Any]]
) -> Encoding:
    """The :class:`Encoding` of an interface's ``inputs`` (JSON specs) on reference rows.
    Text and date inputs are left out."""
    numbers, categories, medians = [], {}, {}
    for spec in inputs:
        name, kind = spec["name"], spec.get("type")
        if kind in ("number", "integer", "boolean"):
            values = np.array([_number(r.get(name)) for r in rows], dtype="float64")
            finite = values[np.isfinite(values)]
            numbers.append(name)
            medians[name] = float(np.median(finite)) if finite.size else 0.0
        elif kind == "category":
            categories[name] = sorted({str(r.get(name)) for r in rows})[:50]
    return Encoding(numbers, categories, medians)


def _error_models() -> dict[str, Any]:
    # Small on purpose: a few hundred reference rows, refitted FOLDS + 1 times.
    return {
        "gradient boosting": lambda: GradientBoostingRegressor(
            n_estimators=100,
            max_depth=3,
            learning_rate=0.05,
            subsample=0.8,
            min_samples_leaf=10,
            random_state=0,
        ),
        "linear": lambda: Ridge(alpha=1.0),
    }


class _Constant:
    def fit(self, x: np.ndarray, y: np.ndarray) -> _Constant:
        self.value = float(np.mean(y))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.value)


@dataclass
class ErrorModel:
    """A model of a regressor's absolute error, with its refits for the jackknife.

    ``spread`` is the squared relative spread of an absolute error around its prediction
    (mean of (|e| - m)² over mean of m², out of group), for the sampling part of the interval.
    """

    encoding: Encoding
    method: str
    model: Any
    folds: list[Any]
    spread: float
    check: dict[str, Any]
    # The relative sampling variance of the reference MAE: the floor of the model term.
    floor: float = 0.0

    def predict(self, matrix: np.ndarray, model: Any = None) -> np.ndarray:
        return np.maximum((model or self.model).predict(matrix), 0.0)


def error_model_fit(
    rows: Sequence[Mapping[str, Any]],
    inputs: Sequence[Mapping[str, Any]],
    answers: np.ndarray,
    actual: np.ndarray,
    *,
    seed: int = 0,
) -> ErrorModel:
    """Fit the DLE model of ``|actual - answers|`` on labelled reference rows.

    Candidates: a small gradient boosting, a ridge regression (it extrapolates beyond the
    reference range, where trees stay flat) and the mean absolute error itself; the one
    with the lowest out-of-group squared error (``FOLDS`` groups) is kept, so a flexible
    model is used only where the reference rows support it.
    """
    encoding = encoding_fit(rows, inputs)
    x = encoding.matrix(rows, answers)
    scale = x.std(axis=0)
    scale[scale == 0] = 1
    shift = x.mean(axis=0)
    x = (x - shift) / scale
    y = np.abs(np.asarray(actual, dtype="float64") - np.asarray(answers, dtype="float64"))
    groups = _folds(len(y), seed)
    candidates = {**_error_models(), "constant": _Constant}
    held_out: dict[str, np.ndarray] = {}
    fitted: dict[str, list[Any]] = {}
    for name, make in candidates.items():
        predicted = np.empty_like(y)
        fitted[name] = []
        for group in groups:
            keep = np.setdiff1d(np.arange(len(y)), group)
            model = make().fit(x[keep], y[keep])
            fitted[name].append(model)
            predicted[group] = np.maximum(model.predict(x[group]), 0.0)
        held_out[name] = predicted
    losses = {name: float(np.mean((y - p) ** 2)) for name, p in held_out.items()}
    best = min(losses, key=losses.get)
    oof = held_out[best]
    spread = float(np.mean((y - oof) ** 2) / max(np.mean(oof**2), 1e-12))
    model = candidates[best]().fit(x, y)
    fitted_errors = np.maximum(model.predict(x), 0.0)
    return ErrorModel(
        encoding=_Scaled(encoding, shift, scale),
        method=best,
        model=model,
        folds=fitted[best],
        spread=spread,
        check={
            "rows": len(y),
            "mae": round(float(y.mean()), 6),
            "cv_rmse": {k: round(float(np.sqrt(v)), 6) for k, v in losses.items()},
        },
        floor=spread
        * float(np.sum(fitted_errors**2))
        / len(y) ** 2
        / max(float(fitted_errors.mean()) ** 2, 1e-12),
    )


@dataclass
class _Scaled:
    """An :class:`Encoding` whose matrix is standardised as at fitting."""

    encoding: Encoding
    shift: np.ndarray
    scale: np.ndarray

    def matrix(self, rows: Sequence[Mapping[str, Any]], answers: np.ndarray) -> np.ndarray:
        return (self.encoding.matrix(rows, answers) - self.shift) / self.scale


def dle_estimate(
    model: ErrorModel, rows: Sequence[Mapping[str, Any]], answers: np.ndarray
) -> dict[str, float] | None:
    """A period's expected MAE with its 95% interval, from its input rows and answers."""
    if len(rows) < MIN_PERIOD_ROWS:
        return None
    x = model.encoding.matrix(rows, answers)
    predicted = model.predict(x)
    estimate = float(predicted.mean())
    sampling = model.spread * float(np.sum(predicted**2)) / len(predicted) ** 2
    folds = [float(model.predict(x, m).mean()) for m in model.folds]
    # The floor is the reference MAE's relative variance, at this period's level of error.
    model_var = max(model.floor * estimate**2, _jackknife_var(folds))
    half = Z95 * np.sqrt(sampling + model_var)
    return {"estimate": estimate, "low": max(0.0, estimate - half), "high": estimate + half}
