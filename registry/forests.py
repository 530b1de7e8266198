"""Random forests and extra trees answered in one loop over their trees.

scikit-learn asks each tree of a forest through joblib, even with one job: a wrapper that
copies the configuration and a dispatch per tree, some 25-40 µs each, several times the
tree's own work on a what-if's few hundred rows (a 100-tree forest: 4.3 ms for 300 rows by
``predict_proba``, 1.4 ms by this loop; bench/whatif_browser.py's forest spent most of its
model time there). This module does what scikit-learn does with one job (validate once,
add each tree's answer in the trees' order, divide by their number) without the dispatch,
so the answer is the same to the last bit (tests/registry/test_forests.py holds that for
each forest class, bare and at the end of a pipeline).

Only the four forest classes themselves (not a subclass, which may answer otherwise), with
one output and their own default of one job; any other model, or a forest set to run in
parallel, is asked as it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_FORESTS = {
    ("sklearn.ensemble._forest", "RandomForestClassifier"): True,
    ("sklearn.ensemble._forest", "ExtraTreesClassifier"): True,
    ("sklearn.ensemble._forest", "RandomForestRegressor"): False,
    ("sklearn.ensemble._forest", "ExtraTreesRegressor"): False,
}


def _forest_last(estimator: Any) -> tuple[Any, Any] | None:
    """``(steps before, forest)`` when the estimator is a forest or a pipeline ending in one
    (``steps before`` None for a bare forest); None otherwise."""
    kind = type(estimator)
    before = None
    if (kind.__module__, kind.__qualname__) == ("sklearn.pipeline", "Pipeline"):
        before, estimator = estimator[:-1], estimator.steps[-1][1]
        kind = type(estimator)
    if (kind.__module__, kind.__qualname__) not in _FORESTS:
        return None
    if getattr(estimator, "n_outputs_", None) != 1 or estimator.n_jobs not in (None, 1):
        return None
    return before, estimator


def forest_answers(estimator: Any, X: Any, *, proba: bool) -> np.ndarray | None:
    """The forest's ``predict_proba(X)`` (``proba``) or ``predict(X)``, as scikit-learn
    gives them with one job; None when ``estimator`` is not such a forest (ask it itself)."""
    found = _forest_last(estimator)
    if found is None:
        return None
    before, forest = found
    if proba != _FORESTS[(type(forest).__module__, type(forest).__qualname__)]:
        return None
    if before is not None and len(before):
        X = before.transform(X)
    X = forest._validate_X_predict(X)
    trees = forest.estimators_
    if proba:
        out = np.zeros((X.shape[0], int(forest.n_classes_)), dtype=np.float64)
        for tree in trees:
            out += tree.predict_proba(X, check_input=False)
    else:
        out = np.zeros(X.shape[0], dtype=np.float64)
        for tree in trees:
            out += tree.predict(X, check_input=False)
    out /= len(trees)
    return out
