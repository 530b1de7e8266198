"""Running a version on validated rows: answers, sensitivity sweeps and two-input grids.

Every function makes one vectorised call into the estimator, however many rows or sweep points
it answers: a sweep of ten inputs by 25 points is one 250-row batch, never 250 single calls.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError

from registry.forests import forest_answers
from registry.interface import Interface, InvalidInput, Validated, native, sweep_values

# A model given its inputs as a plain matrix (see _model_input) says it was fitted with
# feature names; the matrix holds those very columns in that order.
warnings.filterwarnings(
    "ignore", message="X does not have valid feature names", category=UserWarning
)


class ModelCannotAnswer(ValidationError):
    """The model raised on validated inputs; nothing is stored."""


@dataclass
class Scores:
    """Raw outputs of one call: labels and a probability matrix, or regression values."""

    task: str
    classes: list[Any]
    labels: list[Any] | None = None
    probabilities: np.ndarray | None = None
    values: np.ndarray | None = None

    def rows(self, start: int, stop: int) -> Scores:
        """The answers of rows ``start`` to ``stop`` (views, not copies)."""
        return Scores(
            task=self.task,
            classes=self.classes,
            labels=None if self.labels is None else self.labels[start:stop],
            probabilities=None if self.probabilities is None else self.probabilities[start:stop],
            values=None if self.values is None else self.values[start:stop],
        )

    def record(self, i: int) -> dict[str, Any]:
        """Row ``i``'s answer in the API's shape, without building every row's."""
        if self.task == "regression":
            return {"value": float(self.values[i])}
        if self.probabilities is None:
            return {"label": self.labels[i]}
        names = [str(c) for c in self.classes]
        return {
            "label": self.labels[i],
            "probabilities": {
                n: round(float(p), 6) for n, p in zip(names, self.probabilities[i], strict=True)
            },
        }

    def records(self) -> list[dict[str, Any]]:
        """One JSON-ready answer per row, in the API's shape."""
        if self.task == "regression":
            return [{"value": float(v)} for v in self.values]
        if self.probabilities is None:
            return [{"label": label} for label in self.labels]
        names = [str(c) for c in self.classes]
        return [
            {
                "label": label,
                "probabilities": {n: round(float(p), 6) for n, p in zip(names, row, strict=True)},
            }
            for label, row in zip(self.labels, self.probabilities.tolist(), strict=True)
        ]


def followed_class(classes: Sequence[Any], asked: Any, predicted: Any) -> str | None:
    """The class whose probability an answer is explained and drawn by, on every face: the
    one asked for; else a binary classifier's positive class (the second, as scikit-learn
    orders them), so the curves and the explanation hold still as the answer crosses the
    boundary; else the predicted class (None when none is known yet)."""
    names = [str(c) for c in classes]
    if asked not in (None, "") and str(asked) in names:
        return str(asked)
    if len(names) == 2:
        return names[1]
    return None if predicted is None else str(predicted)


def score(estimator: Any, frame: pd.DataFrame | Validated, interface: Interface) -> Scores:
    """Predict every row of a validated frame (or :class:`Validated` rows) in one call.

    A classifier with ``predict_proba`` is asked once for probabilities and its label is the
    most probable class; one without it gives labels only. A regressor gives values.
    Raises :class:`ModelCannotAnswer` when the model fails on the frame, and ``InvalidInput``
    naming the rows whose answer is not finite.
    """
    scores = score_unchecked(estimator, frame, interface)
    finite_check(scores)
    return scores


def score_unchecked(
    estimator: Any, frame: pd.DataFrame | Validated, interface: Interface
) -> Scores:
    """:func:`score` without the check that every answer is finite (the caller's to make)."""
    try:
        # Overflow shows up as a refused row (finite_check); numpy need not also warn.
        with np.errstate(over="ignore", invalid="ignore"):
            return _score(estimator, frame, interface)
    except (ValueError, TypeError, ArithmeticError) as exc:
        # Valid inputs the model still cannot take (a value too large for its float32
        # arithmetic, say): the caller's error, not a 500.
        raise ModelCannotAnswer(
            {"inputs": [f"The model could not answer these inputs: {exc}"]}
        ) from None


def finite_check(scores: Scores) -> None:
    """Raise ``InvalidInput`` naming each row whose answer is not finite."""
    answers = scores.values if scores.task == "regression" else scores.probabilities
    if answers is None:
        return
    finite = np.isfinite(answers) if answers.ndim == 1 else np.isfinite(answers).all(axis=1)
    if not finite.all():
        raise InvalidInput(
            {
                int(row): {"inputs": ["The model gave no finite answer: check for extreme values."]}
                for row in np.flatnonzero(~finite)
            }
        )


# Whether each estimator answers a float matrix exactly as it answers the same DataFrame,
# decided once per loaded estimator on the first all-number frame it is asked about.
_takes_matrix: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
_takes_matrix_lock = threading.Lock()


def _proba(estimator: Any, X: Any) -> np.ndarray:
    fast = forest_answers(estimator, X, proba=True)
    return fast if fast is not None else np.asarray(estimator.predict_proba(X))


def _predicted(estimator: Any, X: Any) -> np.ndarray:
    fast = forest_answers(estimator, X, proba=False)
    return fast if fast is not None else np.asarray(estimator.predict(X))


def _raw(estimator: Any, X: Any, task: str) -> np.ndarray:
    if task == "classification" and hasattr(estimator, "predict_proba"):
        return _proba(estimator, X)
    return _predicted(estimator, X)


def _model_input(estimator: Any, inputs: pd.DataFrame | Validated, interface: Interface) -> Any:
    """The frame, or its values as a float matrix when the model answers that identically.

    A scikit-learn model spends most of a one-row call checking a DataFrame's columns; the
    bare matrix skips that. Only for frames of float columns (the interface's numbers), and
    only once the model has answered the first such frame identically both ways: a model
    that selects columns by name fails or differs on a matrix and keeps the DataFrame.
    """
    validated = inputs if isinstance(inputs, Validated) else None

    def frame_of() -> pd.DataFrame:
        return validated.frame if validated is not None else inputs

    if not interface.takes_one_block("float64"):
        return frame_of()
    try:
        known = _takes_matrix.get(estimator)
    except TypeError:  # an estimator that cannot be weakly referenced
        return frame_of()
    if known is False:
        return frame_of()
    block = validated.block if validated is not None else None
    matrix = block if block is not None else frame_of().to_numpy()
    if matrix.dtype != np.float64:  # optional numbers given as None travel as objects
        return frame_of()
    if known is None:
        task = interface.task
        try:
            known = bool(
                np.array_equal(_raw(estimator, frame_of(), task), _raw(estimator, matrix, task))
            )
        except Exception:  # the model refuses a matrix: it keeps the DataFrame
            known = False
        with _takes_matrix_lock:
            _takes_matrix[estimator] = known
    return matrix if known else frame_of()


def _score(estimator: Any, inputs: pd.DataFrame | Validated, interface: Interface) -> Scores:
    classes = interface.classes
    frame = _model_input(estimator, inputs, interface)
    if interface.task == "classification":
        if hasattr(estimator, "predict_proba"):
            proba = np.asarray(_proba(estimator, frame), dtype="float64")
            estimator_classes = [native(c) for c in estimator.classes_]
            labels = [estimator_classes[i] for i in proba.argmax(axis=1)]
            return Scores(
                task="classification", classes=estimator_classes, labels=labels, probabilities=proba
            )
        labels = [native(v) for v in estimator.predict(frame)]
        return Scores(task="classification", classes=classes, labels=labels)
    values = np.asarray(_predicted(estimator, frame), dtype="float64").ravel()
    return Scores(task="regression", classes=[], values=values)


def _repeat(frame: pd.DataFrame, n: int) -> dict[str, np.ndarray]:
    return {name: np.repeat(frame[name].to_numpy(), n) for name in frame.columns}


def score_parts(
    estimator: Any, frames: Sequence[pd.DataFrame], interface: Interface, *, scorer=None
) -> list[Scores]:
    """Score several frames of the same columns in one call into the estimator; each frame
    gets its own rows' scores back, in order. ``scorer`` is :func:`score_unchecked` by
    default: each part's caller checks its own rows (``finite_check``), so a refusal names
    rows as that part counts them.

    One call instead of several: a forest pays a fixed cost per call of about a millisecond
    per ten trees, whatever the number of rows (bench/whatif_browser.py's what-if profile).
    A row's answer does not depend on the rows scored with it.
    """
    scorer = scorer or score_unchecked
    sizes = [len(f) for f in frames]
    scores = scorer(estimator, pd.concat(frames, ignore_index=True), interface)
    parts, start = [], 0
    for size in sizes:
        parts.append(scores.rows(start, start + size))
        start += size
    return parts


@dataclass
class SweepRows:
    """The rows a sweep asks the model about: each input's values, in turn, in one frame."""

    frame: pd.DataFrame
    grids: list[tuple[str, list[Any]]]


def sweep_rows(
    interface: Interface,
    row: pd.DataFrame,
    *,
    features: list[str] | None = None,
    points: int = 25,
    values: Mapping[str, Sequence[Any]] | None = None,
) -> SweepRows | None:
    """The rows of :func:`sweep` (None when no input has values to sweep)."""
    names = features or interface.names
    given = values or {}
    grids = []
    for name in names:
        if name in given:
            values_of = list(given[name])
        else:
            values_of = sweep_values(interface.by_name[name], points)
        if values_of:
            grids.append((name, values_of))
    if not grids:
        return None
    total = sum(len(values) for _, values in grids)
    columns = _repeat(row.iloc[:1], total)
    start = 0
    for name, values in grids:
        column = columns[name]
        if column.dtype.kind in "iub" and any(isinstance(v, float) for v in values):
            column = columns[name] = column.astype("float64")
        elif column.dtype.kind == "O" or interface.by_name[name].type == "category":
            column = columns[name] = column.astype(object)
        column[start : start + len(values)] = values
        start += len(values)
    return SweepRows(frame=pd.DataFrame(columns, columns=row.columns), grids=grids)


def sweep_curves(
    interface: Interface, row: pd.DataFrame, rows: SweepRows | None, scores: Scores | None
) -> list[dict[str, Any]]:
    """The curves of :func:`sweep` from the scores of its rows (checked here)."""
    if rows is None or scores is None:
        return []
    finite_check(scores)
    curves, start = [], 0
    for name, values in rows.grids:
        stop = start + len(values)
        curves.append(
            {
                "feature": name,
                "type": interface.by_name[name].type,
                "values": [native(v) for v in values],
                "current": native(row[name].iloc[0]),
                "predictions": _slice(scores, start, stop),
            }
        )
        start = stop
    return curves


def sweep(
    estimator: Any,
    interface: Interface,
    row: pd.DataFrame,
    *,
    features: list[str] | None = None,
    points: int = 25,
    values: Mapping[str, Sequence[Any]] | None = None,
) -> list[dict[str, Any]]:
    """How the answer for one row moves as each input moves over its range.

    Numbers and integers run over their observed training range, categories over their
    choices, booleans over both values; every other input stays at the row's value. All the
    variations go through the estimator as one batch.

    ``values`` gives the points to try for some inputs instead (a comparison sweeps every
    model over the same x values, so their curves overlay).
    """
    rows = sweep_rows(interface, row, features=features, points=points, values=values)
    if rows is None:
        return []
    return sweep_curves(interface, row, rows, score_unchecked(estimator, rows.frame, interface))


def _slice(scores: Scores, start: int, stop: int) -> list[Any]:
    if scores.task == "regression":
        return [float(v) for v in scores.values[start:stop]]
    if scores.probabilities is None:
        return list(scores.labels[start:stop])
    names = [str(c) for c in scores.classes]
    return [
        {n: round(float(p), 6) for n, p in zip(names, row, strict=True)}
        for row in scores.probabilities[start:stop].tolist()
    ]


@dataclass
class GridRows:
    """The rows a two-input grid asks the model about: ``y`` outer, ``x`` inner."""

    x: str
    y: str
    xs: list[Any]
    ys: list[Any]
    frame: pd.DataFrame


def grid_rows(
    interface: Interface, row: pd.DataFrame, *, x: str, y: str, points: int = 20
) -> GridRows:
    """The rows of :func:`grid`."""
    xs = sweep_values(interface.by_name[x], points)
    ys = sweep_values(interface.by_name[y], points)
    n = len(xs) * len(ys)
    columns = _repeat(row.iloc[:1], n)
    for name, values in (
        (x, np.tile(np.array(xs, dtype=object), len(ys))),
        (y, np.repeat(np.array(ys, dtype=object), len(xs))),
    ):
        kind = interface.by_name[name].type
        dtype = {"number": "float64", "integer": "int64", "boolean": "bool"}.get(kind, object)
        columns[name] = values.astype(dtype)
    return GridRows(x=x, y=y, xs=xs, ys=ys, frame=pd.DataFrame(columns, columns=row.columns))


def grid_result(
    interface: Interface, rows: GridRows, scores: Scores, *, target_class: Any
) -> dict[str, Any]:
    """The grid of :func:`grid` from the scores of its rows (checked here); a classifier's
    ``target_class`` must be given."""
    finite_check(scores)
    if scores.task == "regression":
        z = scores.values
        label = interface.output.get("target")
    else:
        index = [str(c) for c in scores.classes].index(str(target_class))
        z = scores.probabilities[:, index]
        label = f"P({target_class})"
    return {
        "x": rows.x,
        "y": rows.y,
        "x_values": [native(v) for v in rows.xs],
        "y_values": [native(v) for v in rows.ys],
        "z": np.asarray(z, dtype="float64").reshape(len(rows.ys), len(rows.xs)).round(6).tolist(),
        "z_label": label,
    }


def grid(
    estimator: Any,
    interface: Interface,
    row: pd.DataFrame,
    *,
    x: str,
    y: str,
    points: int = 20,
    target_class: Any = None,
) -> dict[str, Any]:
    """The answer over a grid of two inputs, others held at the row's values.

    For a classifier ``z`` is the probability of ``target_class`` (by default the class the row
    itself is given); for a regressor it is the predicted value.
    """
    rows = grid_rows(interface, row, x=x, y=y, points=points)
    scores = score_unchecked(estimator, rows.frame, interface)
    if scores.task != "regression" and target_class is None:
        target_class = score(estimator, row.iloc[:1], interface).labels[0]
    return grid_result(interface, rows, scores, target_class=target_class)
