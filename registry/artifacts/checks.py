"""Checks on the structures that scikit-learn's compiled code indexes without bounds checks.

skops rebuilds a fitted tree, a histogram-gradient-boosting predictor or a neighbours index
from arrays stored in the file, and scikit-learn trusts them: a child index past the node
count, a feature index past the input width or a cycle among the nodes makes ``predict`` read
or write outside its arrays (a SIGSEGV that kills the process) or loop for ever. A file's
arrays are therefore checked here, once, when it is loaded, before any row reaches them. A
check that fails raises ``ValueError`` naming the object and what is wrong; the loader turns
it into a refusal.

What is checked, by what compiled code would index:

- ``sklearn.tree._tree.Tree`` (every decision tree, forest, extra-trees, gradient boosting,
  isolation forest): node count within the arrays, each split node's children later in the
  array (no cycles) and in range, leaves with both children -1, features within the input
  width, finite thresholds, the value array's shape; the owning estimator's input width.
- ensembles that call their trees without re-checking the input (forests, gradient
  boosting): every member expects the ensemble's input width; gradient boosting's stage
  matrix matches the columns it writes.
- histogram gradient boosting: predictor nodes (children, features, categorical bitset
  indices) and the bin mapper's per-feature arrays.
- KD-tree and ball-tree indexes (nearest neighbours, kernel density): index permutation,
  node ranges, the complete binary layout, bounds' shape.
- support vector machines (libsvm): support vector counts and coefficient shapes.
- distance metrics: weighted metrics are refused (their vectors size compiled loops).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_MAX_DEPTH = 10_000  # far deeper than any tree sklearn grows; bounds the walk below


def _fail(where: str, what: str) -> None:
    raise ValueError(f"{where}: {what}")


def _tree_check(tree: Any, where: str) -> None:
    from sklearn.tree._tree import NODE_DTYPE

    state = tree.__getstate__()
    nodes, values = state["nodes"], state["values"]
    node_count = int(state["node_count"])
    if nodes.dtype != NODE_DTYPE or nodes.ndim != 1:
        _fail(where, "the tree's node array has the wrong layout")
    if not 0 < node_count <= len(nodes):
        _fail(where, f"the tree claims {node_count} nodes but stores {len(nodes)}")
    n_features = int(tree.n_features)
    if n_features < 1:
        _fail(where, "the tree has no input features")
    expected_values = (len(nodes), int(tree.n_outputs), int(tree.max_n_classes))
    if values.shape != expected_values or min(expected_values) < 1:
        _fail(where, f"the tree's value array has shape {values.shape}")
    n_classes = np.asarray(tree.n_classes)
    if len(n_classes) != tree.n_outputs or (n_classes > tree.max_n_classes).any():
        _fail(where, "the tree's class counts do not match its value array")
    used = nodes[:node_count]
    left, right = used["left_child"], used["right_child"]
    index = np.arange(node_count)
    leaf = left == -1
    if not np.array_equal(leaf, right == -1):
        _fail(where, "a tree node has one child only")
    split = ~leaf
    # Children always come after their parent in a tree scikit-learn grows; requiring it rules
    # out cycles (an endless predict) along with indices past the node array.
    for name, child in (("left", left), ("right", right)):
        if ((child[split] <= index[split]) | (child[split] >= node_count)).any():
            bad = int(index[split][((child <= index) | (child >= node_count))[split]][0])
            _fail(where, f"node {bad}'s {name} child is outside the tree")
    features = used["feature"][split]
    if ((features < 0) | (features >= n_features)).any():
        _fail(where, f"a split uses a feature outside the model's {n_features} inputs")
    if not np.isfinite(used["threshold"][split]).all():
        _fail(where, "a split's threshold is not a finite number")
    if not 0 <= int(state["max_depth"]) <= min(node_count, _MAX_DEPTH):
        _fail(where, "the tree's depth does not match its nodes")


def _width(estimator: Any, where: str) -> int:
    width = getattr(estimator, "n_features_in_", None)
    if not isinstance(width, int | np.integer) or width < 1:
        _fail(where, "the fitted estimator does not say how many inputs it takes")
    return int(width)


def _tree_owner_check(estimator: Any, where: str) -> None:
    if _width(estimator, where) != int(estimator.tree_.n_features):
        _fail(where, "the tree's input width differs from its estimator's")


def _members_check(estimator: Any, where: str) -> None:
    """Forests and gradient boosting pass their checked input to members unchecked."""
    width = _width(estimator, where)
    members = np.asarray(estimator.estimators_, dtype=object).ravel()
    if not len(members):
        _fail(where, "the ensemble has no members")
    for i, member in enumerate(members):
        if _width(member, f"{where}.estimators_[{i}]") != width:
            _fail(where, f"member {i} expects a different number of inputs")


def _gradient_boosting_check(estimator: Any, where: str) -> None:
    stages = np.asarray(estimator.estimators_, dtype=object)
    columns = int(getattr(estimator, "n_trees_per_iteration_", 1))
    if stages.ndim != 2 or stages.shape[1] != columns:
        _fail(where, f"the stage matrix has shape {stages.shape}, not (n, {columns})")
    _members_check(estimator, where)


def _hist_gradient_boosting_check(estimator: Any, where: str) -> None:
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    width = _width(estimator, where)
    mapper = estimator._bin_mapper
    categorical = np.asarray(getattr(mapper, "is_categorical_", np.zeros(width)), dtype=bool)
    if categorical.shape != (width,):
        _fail(where, "the bin mapper does not describe every input")
    thresholds = getattr(mapper, "bin_thresholds_", None)
    if thresholds is None or len(thresholds) != width:
        _fail(where, "the bin mapper's thresholds do not describe every input")
    for f in np.flatnonzero(categorical):
        known = np.asarray(thresholds[f])
        if known.size and (~np.isfinite(known) | (known < 0) | (known > 255)).any():
            _fail(where, f"input {f}'s known categories are outside 0-255")
    columns = int(estimator.n_trees_per_iteration_)
    for i, stage in enumerate(estimator._predictors):
        if len(stage) != columns:
            _fail(where, f"iteration {i} has {len(stage)} predictors, not {columns}")
        for k, predictor in enumerate(stage):
            at = f"{where} predictor [{i}][{k}]"
            nodes = predictor.nodes
            if nodes.dtype != PREDICTOR_RECORD_DTYPE or nodes.ndim != 1 or not len(nodes):
                _fail(at, "the node array has the wrong layout")
            n = len(nodes)
            index = np.arange(n)
            split = nodes["is_leaf"] == 0
            for name in ("left", "right"):
                child = nodes[name].astype(np.int64)
                if ((child[split] <= index[split]) | (child[split] >= n)).any():
                    _fail(at, f"a node's {name} child is outside the tree")
            features = nodes["feature_idx"][split]
            if ((features < 0) | (features >= width)).any():
                _fail(at, f"a split uses a feature outside the model's {width} inputs")
            on_category = split & (nodes["is_categorical"] != 0)
            if (~categorical[nodes["feature_idx"][on_category]]).any():
                _fail(at, "a categorical split is on an input that is not categorical")
            for bitsets in (predictor.raw_left_cat_bitsets, predictor.binned_left_cat_bitsets):
                bitsets = np.asarray(bitsets)
                if bitsets.ndim != 2 or bitsets.shape[1] != 8:
                    _fail(at, "the category bitsets have the wrong shape")
                if (nodes["bitset_idx"][on_category] >= len(bitsets)).any():
                    _fail(at, "a categorical split points past the category bitsets")


def _binary_tree_check(index: Any, where: str) -> None:
    (data, idx_array, node_data, node_bounds, _leaf, n_levels, n_nodes, *_rest) = (
        index.__getstate__()
    )
    data, idx_array = np.asarray(data), np.asarray(idx_array)
    n = data.shape[0] if data.ndim == 2 else -1
    if n < 1 or data.shape[1] < 1:
        _fail(where, "the index holds no data")
    if idx_array.shape != (n,) or not np.array_equal(np.sort(idx_array), np.arange(n)):
        _fail(where, "the index's order is not a permutation of its rows")
    if n_nodes != len(node_data) or not 0 < n_levels < 64 or n_nodes != 2**n_levels - 1:
        _fail(where, "the index's node count does not match its levels")
    start, end = node_data["idx_start"], node_data["idx_end"]
    if ((start < 0) | (start > end) | (end > n)).any():
        _fail(where, "an index node's range is outside its rows")
    # Node i's children are 2i+1 and 2i+2: every node in the last level must be a leaf.
    inner = np.flatnonzero(node_data["is_leaf"] == 0)
    if (2 * inner + 2 >= n_nodes).any():
        _fail(where, "an inner index node has no children")
    bounds = np.asarray(node_bounds)
    if bounds.ndim != 3 or bounds.shape[1:] != (n_nodes, data.shape[1]):
        _fail(where, "the index's bounds do not match its nodes")


def _libsvm_check(estimator: Any, where: str) -> None:
    vectors = estimator.support_vectors_
    n_vectors = vectors.shape[0]
    support = np.asarray(estimator.n_support_ if hasattr(estimator, "_n_support") else [])
    dual = estimator._dual_coef_ if hasattr(estimator, "_dual_coef_") else estimator.dual_coef_
    n_class = max(len(support), 2) if hasattr(estimator, "classes_") else 2
    if n_vectors and vectors.shape[1] != _width(estimator, where):
        _fail(where, "the support vectors' width differs from the inputs")
    if hasattr(estimator, "classes_"):
        if len(support) != len(estimator.classes_) or int(support.sum()) != n_vectors:
            _fail(where, "the support vector counts do not match the support vectors")
        if (support < 0).any():
            _fail(where, "a support vector count is negative")
    if dual.shape != (n_class - 1, n_vectors):
        _fail(where, f"the dual coefficients have shape {dual.shape}")
    if len(estimator.support_) != n_vectors:
        _fail(where, "the support indices do not match the support vectors")
    pairs = n_class * (n_class - 1) // 2
    if len(np.ravel(estimator._intercept_)) != pairs:
        _fail(where, "the intercepts do not match the classes")
    for name in ("_probA", "_probB"):
        size = len(np.ravel(getattr(estimator, name, [])))
        if size not in (0, pairs):
            _fail(where, f"{name} does not match the classes")


def _metric_check(metric: Any, where: str) -> None:
    _p, vec, mat, *_ = metric.__getstate__()
    if np.asarray(vec).size or np.asarray(mat).size:
        _fail(where, "weighted distance metrics are not accepted")


def structures_check(obj: Any) -> None:
    """Raise ``ValueError`` if any structure compiled code would index is inconsistent.

    Walks everything reachable from the loaded object (attributes, lists, dicts, object
    arrays), so a tree inside a forest inside a pipeline is checked like a bare one.
    """
    from sklearn.base import BaseEstimator
    from sklearn.ensemble._forest import BaseForest
    from sklearn.ensemble._gb import BaseGradientBoosting
    from sklearn.ensemble._hist_gradient_boosting.gradient_boosting import (
        BaseHistGradientBoosting,
    )
    from sklearn.metrics._dist_metrics import DistanceMetric
    from sklearn.neighbors._ball_tree import BallTree
    from sklearn.neighbors._kd_tree import KDTree
    from sklearn.svm._base import BaseLibSVM
    from sklearn.tree._tree import Tree

    seen: set[int] = set()
    stack: list[tuple[Any, str, int]] = [(obj, type(obj).__name__, 0)]
    while stack:
        item, where, depth = stack.pop()
        if id(item) in seen or depth > _MAX_DEPTH:
            continue
        seen.add(id(item))
        if isinstance(item, Tree):
            _tree_check(item, where)
        elif isinstance(item, KDTree | BallTree):
            _binary_tree_check(item, where)
        elif isinstance(item, DistanceMetric) or type(item).__name__.endswith("Distance64"):
            _metric_check(item, where)
        if isinstance(item, BaseEstimator):
            if isinstance(getattr(item, "tree_", None), Tree):
                _tree_owner_check(item, where)
            if isinstance(item, BaseGradientBoosting) and hasattr(item, "estimators_"):
                _gradient_boosting_check(item, where)
            elif isinstance(item, BaseForest) and hasattr(item, "estimators_"):
                _members_check(item, where)
            if isinstance(item, BaseHistGradientBoosting) and hasattr(item, "_predictors"):
                _hist_gradient_boosting_check(item, where)
            if isinstance(item, BaseLibSVM) and hasattr(item, "support_vectors_"):
                _libsvm_check(item, where)
        children: list[tuple[Any, str]] = []
        if isinstance(item, dict):
            children = [(v, f"{where}[{k!r}]") for k, v in item.items()]
        elif isinstance(item, list | tuple):
            children = [(v, f"{where}[{i}]") for i, v in enumerate(item)]
        elif isinstance(item, np.ndarray):
            if item.dtype == object:
                children = [(v, f"{where}[{i}]") for i, v in enumerate(item.ravel())]
        elif hasattr(item, "__dict__"):
            children = [(v, f"{where}.{k}") for k, v in vars(item).items()]
        stack.extend((child, at, depth + 1) for child, at in children)
