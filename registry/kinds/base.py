"""What every native model kind shares: refusals, limits, and the scikit-learn-like face.

The rest of the portal asks a model for ``predict``, ``predict_proba`` (classifiers only),
``classes_``, ``feature_names_in_`` (when the model knows its input names) and ``get_params``
(registry/inference.py, registry/interface.py, registry/services.py). :class:`NativeModel` gives
a booster or a graph exactly that face, answering through the native library itself.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings

from registry.artifacts.errors import ArtifactError
from registry.interface import KnownInput

# Bounds on what a native file may ask the library to build, beside the byte limit
# (PORTAL_MAX_ARTIFACT_BYTES). A real booster has at most LightGBM's 131,072 leaves a tree.
LIMITS = {
    "MAX_TREE_NODES": 262_144,  # per tree
    "MAX_TOTAL_NODES": 20_000_000,
    "MAX_TREES": 100_000,
    "MAX_FEATURES": 100_000,
    "MAX_CLASSES": 10_000,
    "MAX_CATEGORY": 1_000_000,  # XGBoost and LightGBM size a bitset by the largest category
    "MAX_ONNX_NODES": 100_000,
    "MAX_TEXT_BYTES": 256 * 1024 * 1024,  # parsed JSON or text costs ~10x its size in memory
}


def limit(name: str) -> int:
    """A bound from ``settings.PORTAL`` (same name), else its default here."""
    return int(settings.PORTAL.get(name, LIMITS[name]))


def refuse(message: str) -> ArtifactError:
    """The one-line refusal of a file, naming what is wrong."""
    return ArtifactError(f"Refused: {message}")


def as_int(value: Any, where: str) -> int:
    """An integer field of a file (XGBoost writes some as strings), or a refusal."""
    if isinstance(value, bool):
        raise refuse(f"{where} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise refuse(f"{where} is not an integer ({str(value)[:40]!r})")


class NativeModel:
    """A model answered by a native library, with the face scikit-learn estimators have.

    ``task`` is "classification" or "regression". A classifier's class labels are not in the
    file (a booster knows class indices 0..k-1): :meth:`labelled` gives the same model with
    labels, index ``i`` answering for ``classes[i]``.
    """

    framework = ""
    framework_version = ""
    estimator_class = ""
    # Each categorical input's categories, in the order of the codes the model was trained on
    # ({input index: [category, ...]}), and where the file records them (for the notes).
    categories: dict[int, list[Any]] = {}  # read only here: a model sets its own
    categories_source = ""

    def __init__(self, *, task: str, n_classes: int, n_features: int, names: Sequence[str] | None):
        self.task = task
        self.n_classes = n_classes
        self.n_features_in_ = n_features
        self.input_names = list(names) if names else None
        self.own_classes: list[Any] | None = None  # labels the file itself records (ONNX)
        self._classes: np.ndarray | None = None
        self._views: dict[tuple, NativeModel] = {}
        self._lock = threading.Lock()
        self._root = self

    # -- the face the rest of the portal uses
    @property
    def classes_(self) -> np.ndarray:
        if self.task != "classification" or self._classes is None:
            raise AttributeError("classes_")
        return self._classes

    @property
    def feature_names_in_(self) -> np.ndarray:
        if not self.input_names:
            raise AttributeError("feature_names_in_")
        return np.asarray(self.input_names, dtype=object)

    @property
    def predict_proba(self):
        if self.task != "classification":
            raise AttributeError("predict_proba")
        return self._predict_proba

    def predict(self, X: Any) -> np.ndarray:
        """Labels for a classifier (the most probable class), values for a regressor."""
        if self.task == "classification":
            proba = self._predict_proba(X)
            classes = self._classes if self._classes is not None else np.arange(self.n_classes)
            return np.asarray(classes)[proba.argmax(axis=1)]
        return self._values(X)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {}

    def fit(self, X: Any, y: Any = None) -> NativeModel:
        """Never called: scikit-learn's inspection tools (permutation importance at
        registration) ask for it to exist. A native model is fitted already."""
        raise NotImplementedError("a registered model is not refitted")

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

        classifier = self.task == "classification"
        return Tags(
            estimator_type="classifier" if classifier else "regressor",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags() if classifier else None,
            regressor_tags=None if classifier else RegressorTags(),
        )

    def labelled(self, classes: Sequence[Any] | None) -> NativeModel:
        """This model answering with ``classes`` as its labels (one object per labelling, so
        per-estimator caches keyed on the object stay warm)."""
        root = self._root
        if root.task != "classification" or classes is None:
            return root
        key = tuple(classes)
        with root._lock:
            view = root._views.get(key)
            if view is None:
                view = object.__new__(type(root))
                view.__dict__.update(root.__dict__)
                view._classes = np.asarray(list(classes), dtype=object)
                view._views = {}
                root._views[key] = view
        return view

    # -- what each kind implements
    def _predict_proba(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    def _values(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    def known_inputs(self) -> list[KnownInput]:
        """The categories of each categorical input, as the model was trained on them."""
        names = self.input_names or [f"Column_{i}" for i in range(self.n_features_in_)]
        return [
            KnownInput(names[i], self.categories_source, tuple(map(str, values)))
            for i, values in self.categories.items()
        ]

    # -- helpers
    def _matrix(self, X: Any) -> np.ndarray:
        """Rows as a float64 matrix, columns in the model's order (missing values NaN). Each
        categorical input's text becomes the code the model was trained on (its place in
        ``categories``; NaN, the libraries' missing, for any other value), as LightGBM and
        XGBoost themselves do for a pandas DataFrame."""
        if self.categories and isinstance(X, pd.DataFrame):
            return self._coded(X)
        if isinstance(X, pd.DataFrame):
            if self.input_names and all(n in X.columns for n in self.input_names):
                X = X[self.input_names]
            if all(_is_number(kind) for kind in X.dtypes):
                # The interface's typed columns: one conversion, not one a column (~30 us
                # each: a 30-input booster's one-row call spent 1 ms here, its own 0.07 ms).
                matrix = X.to_numpy(dtype="float64", na_value=np.nan)
                return self._width_check(matrix)
            columns = [pd.to_numeric(X[c], errors="raise") for c in X.columns]
            matrix = (
                np.column_stack([np.asarray(c, dtype="float64") for c in columns])
                if columns
                else np.empty((len(X), 0))
            )
        else:
            matrix = np.asarray(X, dtype="float64")
        return self._width_check(matrix)

    def _coded(self, X: pd.DataFrame) -> np.ndarray:
        if self.input_names and all(n in X.columns for n in self.input_names):
            X = X[self.input_names]
        columns = []
        for i, name in enumerate(X.columns):
            if i in self.categories:
                code = {str(c): k for k, c in enumerate(self.categories[i])}
                columns.append([code.get(str(v), np.nan) for v in X[name]])
            else:
                columns.append(np.asarray(pd.to_numeric(X[name], errors="raise"), dtype="float64"))
        return self._width_check(np.column_stack(columns).astype("float64"))

    def _width_check(self, matrix: np.ndarray) -> np.ndarray:
        if matrix.ndim != 2 or matrix.shape[1] != self.n_features_in_:
            raise ValueError(
                f"the model takes {self.n_features_in_} inputs, not {matrix.shape[-1]}"
            )
        return matrix


def _is_number(kind: Any) -> bool:
    return pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind)


def two_columns(p: np.ndarray) -> np.ndarray:
    """A binary classifier's P(class 1) as scikit-learn's two columns [P(0), P(1)]."""
    p = np.asarray(p, dtype="float64").reshape(-1)
    return np.column_stack([1.0 - p, p])
