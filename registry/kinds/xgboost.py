"""XGBoost boosters (``Booster.save_model`` JSON or UBJSON): checked in Python, then loaded.

XGBoost's C++ reader trusts the arrays it reads: a child index, a split feature or a tree's
class out of range is read or written past an array's end, and the worker segfaults
(tests/registry/test_kinds_hostile.py shows each). So the whole document is decoded here first
(JSON by the standard library, UBJSON by registry/kinds/ubjson.py) and every structure the
library indexes is checked; only a document that passes reaches XGBoost, as the same bytes.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np

from registry.interface import KnownInput
from registry.kinds.base import NativeModel, as_int, limit, refuse, two_columns
from registry.kinds.ubjson import ubjson_loads

ROOT_SENTINEL = 2147483647  # XGBoost's parent of the root
CLASSIFIERS = {"binary:logistic", "multi:softprob"}
REGRESSORS = {
    "reg:squarederror",
    "reg:squaredlogerror",
    "reg:logistic",
    "reg:pseudohubererror",
    "reg:absoluteerror",
    "reg:gamma",
    "reg:tweedie",
    "count:poisson",
    "survival:cox",
    "rank:pairwise",
    "rank:ndcg",
    "rank:map",
}
_NODE_ARRAYS = (
    "left_children",
    "right_children",
    "parents",
    "split_indices",
    "split_conditions",
    "split_type",
    "default_left",
    "base_weights",
    "loss_changes",
    "sum_hessian",
)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = {}
    for key, value in pairs:
        if key in out:
            raise refuse(f"the XGBoost JSON gives the key {key!r} twice in one object")
        out[key] = value
    return out


def document_from_bytes(data: bytes, kind: str) -> dict[str, Any]:
    """The decoded model document (``kind`` is "json" or "ubjson"), refusing what is not one."""
    if len(data) > limit("MAX_TEXT_BYTES"):
        raise refuse(f"the XGBoost model is larger than {limit('MAX_TEXT_BYTES')} bytes")
    try:
        if kind == "json":
            doc = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
        else:
            doc = ubjson_loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        if hasattr(exc, "reason"):  # our own refusal from _no_duplicates
            raise
        raise refuse(f"the XGBoost model cannot be read: {str(exc)[:200]}") from None
    if not isinstance(doc, dict):
        raise refuse("the XGBoost model is not a JSON object")
    return doc


def _get(obj: Any, key: str, where: str, kind: type | tuple = dict) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise refuse(f"the XGBoost model has no {where}{key}")
    value = obj[key]
    if not isinstance(value, kind):
        raise refuse(f"the XGBoost model's {where}{key} has the wrong type")
    return value


def _ints(tree: dict, key: str, where: str) -> list[int]:
    values = tree.get(key)
    if not isinstance(values, list):
        raise refuse(f"{where} has no array {key}")
    return [as_int(v, f"{where} {key}") for v in values]


def tree_check(tree: Any, t: int, num_feature: int) -> int:
    """Check one tree's arrays; return its node count."""
    where = f"tree {t}"
    if not isinstance(tree, dict):
        raise refuse(f"{where} is not an object")
    param = _get(tree, "tree_param", f"{where}'s ")
    n = as_int(param.get("num_nodes"), f"{where} num_nodes")
    if not 1 <= n <= limit("MAX_TREE_NODES"):
        raise refuse(f"{where} has {n} nodes; at most {limit('MAX_TREE_NODES')} are accepted")
    if as_int(param.get("size_leaf_vector", 1), f"{where} size_leaf_vector") not in (0, 1):
        raise refuse(f"{where} has vector leaves (multi-target), which the portal does not serve")
    if (
        "num_feature" in param
        and as_int(param["num_feature"], f"{where} num_feature") > num_feature
    ):
        raise refuse(f"{where} says {param['num_feature']} features; the model has {num_feature}")
    if as_int(tree.get("id", t), f"{where} id") != t:
        raise refuse(f"{where} has id {tree.get('id')}")
    for key in _NODE_ARRAYS:
        values = tree.get(key)
        if not isinstance(values, list):
            raise refuse(f"{where} has no array {key}")
        if len(values) != n:
            raise refuse(f"{where}: {key} has {len(values)} entries for {n} nodes")
    left, right = _ints(tree, "left_children", where), _ints(tree, "right_children", where)
    parents = _ints(tree, "parents", where)
    split = _ints(tree, "split_indices", where)
    split_type = _ints(tree, "split_type", where)
    for values, key in (
        (tree["split_conditions"], "split_conditions"),
        (tree["base_weights"], "base_weights"),
    ):
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            raise refuse(f"{where}: {key} holds something other than numbers")
    for i in range(n):
        a, b = left[i], right[i]
        for child in (a, b):
            if child != -1 and not 0 < child < n:
                raise refuse(f"{where}, node {i}: child {child} is not a node")
        if (a == -1) != (b == -1):
            raise refuse(f"{where}, node {i}: one child is missing")
        if a == b != -1:
            raise refuse(f"{where}, node {i}: both children are node {a}")
        if not 0 <= split[i] < num_feature:
            raise refuse(f"{where}, node {i}: split feature {split[i]} is not below {num_feature}")
        if split_type[i] not in (0, 1):
            raise refuse(f"{where}, node {i}: unknown split type {split_type[i]}")
        if split_type[i] == 1 and a == -1:
            raise refuse(f"{where}, node {i}: a leaf with a categorical split")
        p = parents[i]
        if not (p == ROOT_SENTINEL if i == 0 else 0 <= p < n):
            raise refuse(f"{where}, node {i}: parent {p} is not a node")
    # Every node reached from the root once, by its recorded parent: a tree, no cycle.
    seen, stack = {0}, [0]
    while stack:
        i = stack.pop()
        if left[i] == -1:
            continue
        for child in (left[i], right[i]):
            if child in seen:
                raise refuse(f"{where}: node {child} is reached twice (a cycle or a shared node)")
            if parents[child] != i:
                raise refuse(f"{where}: node {child}'s parent is {parents[child]}, not {i}")
            seen.add(child)
            stack.append(child)
    deleted = as_int(param.get("num_deleted", 0), f"{where} num_deleted")
    if len(seen) + deleted != n:
        raise refuse(f"{where}: {n - len(seen)} nodes are not reached from the root")
    _categories_check(tree, where, n, split_type, left)
    return n


def _categories_check(tree: dict, where: str, n: int, split_type: list[int], left: list[int]):
    nodes = _ints(tree, "categories_nodes", where) if "categories_nodes" in tree else []
    segments = _ints(tree, "categories_segments", where) if "categories_segments" in tree else []
    sizes = _ints(tree, "categories_sizes", where) if "categories_sizes" in tree else []
    cats = _ints(tree, "categories", where) if "categories" in tree else []
    if not len(nodes) == len(segments) == len(sizes):
        raise refuse(f"{where}: categories_nodes, _segments and _sizes differ in length")
    categorical = [i for i in range(n) if split_type[i] == 1]
    if sorted(nodes) != nodes or set(nodes) != set(categorical) or len(set(nodes)) != len(nodes):
        raise refuse(f"{where}: categories_nodes do not match the categorical splits")
    for node, start, size in zip(nodes, segments, sizes, strict=True):
        if start < 0 or size < 0 or start + size > len(cats):
            raise refuse(
                f"{where}, node {node}: categories {start}..{start + size} lie outside "
                f"the {len(cats)} recorded"
            )
    if any(not 0 <= c <= limit("MAX_CATEGORY") for c in cats):
        raise refuse(f"{where}: a category is negative or above {limit('MAX_CATEGORY')}")


def document_check(doc: dict[str, Any]) -> dict[str, Any]:
    """Check every structure of an XGBoost model document; return what the portal needs
    (objective, classes, features, names)."""
    version = doc.get("version")
    if not (isinstance(version, list) and len(version) == 3 and as_int(version[0], "version") >= 1):
        raise refuse("this is not an XGBoost model saved by XGBoost 1.0 or later (no version)")
    learner = _get(doc, "learner", "")
    param = _get(learner, "learner_model_param", "learner's ")
    num_feature = as_int(param.get("num_feature"), "num_feature")
    if not 1 <= num_feature <= limit("MAX_FEATURES"):
        raise refuse(f"num_feature is {num_feature}; 1 to {limit('MAX_FEATURES')} are accepted")
    num_class = as_int(param.get("num_class", 0), "num_class")
    if not 0 <= num_class <= limit("MAX_CLASSES") or num_class == 1:
        raise refuse(f"num_class is {num_class}")
    if as_int(param.get("num_target", 1), "num_target") != 1:
        raise refuse("the booster has several targets, which the portal does not serve")
    objective = _get(_get(learner, "objective", "learner's "), "name", "objective's ", str)
    if objective not in CLASSIFIERS | REGRESSORS:
        raise refuse(
            f"objective {objective} is not served; classifiers use binary:logistic or "
            "multi:softprob"
        )
    if (objective == "multi:softprob") != (num_class >= 2):
        raise refuse(f"objective {objective} disagrees with num_class {num_class}")
    booster = _get(learner, "gradient_booster", "learner's ")
    name = booster.get("name")
    model = booster.get("gbtree") if name == "dart" else booster
    if name not in ("gbtree", "dart") or not isinstance(model, dict):
        raise refuse(f"booster {name!r} is not served (gbtree and dart are)")
    model = _get(model, "model", "booster's ")
    trees = _get(model, "trees", "model's ", list)
    tree_param = _get(model, "gbtree_model_param", "model's ")
    num_trees = as_int(tree_param.get("num_trees"), "num_trees")
    if num_trees != len(trees):
        raise refuse(f"num_trees is {num_trees} but the model holds {len(trees)} trees")
    if not 1 <= num_trees <= limit("MAX_TREES"):
        raise refuse(f"{num_trees} trees; 1 to {limit('MAX_TREES')} are accepted")
    if as_int(tree_param.get("num_parallel_tree", 1), "num_parallel_tree") < 1:
        raise refuse("num_parallel_tree is below 1")
    groups = max(num_class, 1)
    tree_info = _ints(model, "tree_info", "the model")
    if len(tree_info) != num_trees:
        raise refuse(f"tree_info has {len(tree_info)} entries for {num_trees} trees")
    if any(not 0 <= g < groups for g in tree_info):
        raise refuse(f"tree_info names a class outside 0..{groups - 1}")
    if "iteration_indptr" in model:
        indptr = _ints(model, "iteration_indptr", "the model")
        if (
            not indptr
            or indptr[0] != 0
            or indptr[-1] != num_trees
            or any(b < a for a, b in itertools.pairwise(indptr))
        ):
            raise refuse("iteration_indptr does not run from 0 to the number of trees")
    if name == "dart":
        weights = booster.get("weight_drop")
        if not isinstance(weights, list) or len(weights) != num_trees:
            raise refuse("the dart booster's weight_drop does not give one weight per tree")
    total = 0
    for t, tree in enumerate(trees):
        total += tree_check(tree, t, num_feature)
        if total > limit("MAX_TOTAL_NODES"):
            raise refuse(f"more than {limit('MAX_TOTAL_NODES')} nodes in all")
    names = learner.get("feature_names") or []
    types = learner.get("feature_types") or []
    for key, values in (("feature_names", names), ("feature_types", types)):
        if not isinstance(values, list) or (values and len(values) != num_feature):
            raise refuse(f"{key} has {len(values)} entries for {num_feature} features")
        if not all(isinstance(v, str) for v in values):
            raise refuse(f"{key} holds something other than text")
    categories = _cats_check(model.get("cats"), num_feature, types)
    for t, tree in enumerate(trees):
        _category_codes_check(tree, f"tree {t}", categories)
    return {
        "categories": categories,
        "thresholds": _thresholds(trees),
        "objective": objective,
        "num_class": num_class,
        "num_feature": num_feature,
        "names": names or None,
        "num_trees": num_trees,
        "booster": name,
    }


def _cats_check(cats: Any, num_feature: int, types: list[str]) -> dict[int, list[str]]:
    """The categories XGBoost (3.1 and later) records for each categorical input, checked
    before XGBoost reads them: ``enc`` holds, per input, its categories' text as Unicode code
    points cut by ``offsets``; ``feature_segments`` where each input's categories start in
    the flat list; ``sorted_idx`` each input's categories in sorted order (XGBoost searches
    them). Returns ``{input index: [category, ...]}`` in the order of the trained codes."""
    categorical = [i for i, kind in enumerate(types) if kind == "c"]
    empty = not cats or (
        isinstance(cats, dict) and not any(cats.get(k) for k in ("enc", "feature_segments"))
    )
    if empty:
        if categorical:
            raise refuse(
                "the model has categorical inputs but records no categories (saved before "
                "XGBoost 3.1): save it again with XGBoost 3.1 or later"
            )
        return {}
    if not isinstance(cats, dict):
        raise refuse("cats is not an object")
    enc, segments, order = cats.get("enc"), cats.get("feature_segments"), cats.get("sorted_idx")
    if not isinstance(enc, list) or len(enc) != num_feature:
        raise refuse(f"cats.enc does not give the {num_feature} inputs")
    if not isinstance(segments, list) or len(segments) != num_feature + 1:
        raise refuse(f"cats.feature_segments does not give {num_feature + 1} offsets")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in segments):
        raise refuse("cats.feature_segments holds something other than whole numbers")
    out: dict[int, list[str]] = {}
    for i, entry in enumerate(enc):
        where = f"cats.enc[{i}]"
        if not isinstance(entry, dict):
            raise refuse(f"{where} is not an object")
        offsets, values = entry.get("offsets"), entry.get("values")
        for key, seq in (("offsets", offsets), ("values", values)):
            if not isinstance(seq, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in seq
            ):
                raise refuse(f"{where}.{key} is not a list of whole numbers (text categories only)")
        count = max(len(offsets) - 1, 0)
        if segments[i + 1] - segments[i] != count:
            raise refuse(
                f"{where}: feature_segments gives {segments[i + 1] - segments[i]} "
                f"categories, enc {count}"
            )
        if (i in categorical) != (count > 0):
            raise refuse(f"{where}: categories do not match feature_types")
        if not count:
            if offsets not in ([], [0]) or values:
                raise refuse(f"{where}: values without categories")
            continue
        if count > limit("MAX_CATEGORY"):
            raise refuse(f"{where} has more than {limit('MAX_CATEGORY')} categories")
        if (
            offsets[0] != 0
            or offsets[-1] != len(values)
            or any(b < a for a, b in itertools.pairwise(offsets))
        ):
            raise refuse(f"{where}.offsets do not cut its {len(values)} values in order")
        if any(not 0 <= v <= 0x10FFFF or 0xD800 <= v <= 0xDFFF for v in values):
            raise refuse(f"{where} holds a value that is not a Unicode character")
        text = "".join(map(chr, values))
        names = [text[a:b] for a, b in itertools.pairwise(offsets)]
        if len(set(names)) != len(names):
            raise refuse(f"{where} names a category twice")
        out[i] = names
    if segments[0] != 0 or any(b < a for a, b in itertools.pairwise(segments)):
        raise refuse("cats.feature_segments do not run in order from 0")
    total = segments[-1]
    if not isinstance(order, list) or len(order) != total:
        raise refuse(f"cats.sorted_idx does not give the {total} categories")
    for i, names in out.items():
        part = order[segments[i] : segments[i] + len(names)]
        if sorted(part) != list(range(len(names))):
            raise refuse(f"cats.sorted_idx for input {i} is not an order of its categories")
        if [names[k] for k in part] != sorted(names):
            raise refuse(f"cats.sorted_idx for input {i} does not sort its categories")
    return out


def _category_codes_check(tree: dict, where: str, categories: dict[int, list[str]]) -> None:
    """A categorical split is on a categorical input, and names only its categories' codes
    (the arrays' bounds were checked by _categories_check)."""
    cats = tree.get("categories") or []
    for node, start, size in zip(
        tree.get("categories_nodes") or [],
        tree.get("categories_segments") or [],
        tree.get("categories_sizes") or [],
        strict=True,
    ):
        feature = tree["split_indices"][node]
        if feature not in categories:
            raise refuse(
                f"{where}, node {node}: a categorical split on input {feature}, "
                "which has no categories"
            )
        if any(c >= len(categories[feature]) for c in cats[start : start + size]):
            raise refuse(
                f"{where}, node {node}: a category code beyond input {feature}'s "
                f"{len(categories[feature])} categories"
            )


def _thresholds(trees: list[dict[str, Any]]) -> dict[int, tuple[float, float]]:
    """The lowest and highest threshold each input is split at, over every tree (the arrays
    were checked by tree_check): where the booster's answer can change."""
    out: dict[int, tuple[float, float]] = {}
    for tree in trees:
        for left, feature, kind, threshold in zip(
            tree["left_children"],
            tree["split_indices"],
            tree["split_type"],
            tree["split_conditions"],
            strict=True,
        ):
            if left == -1 or kind != 0 or not math.isfinite(threshold):
                continue
            low, high = out.get(feature, (threshold, threshold))
            out[feature] = (min(low, threshold), max(high, threshold))
    return out


class XGBoostModel(NativeModel):
    """A checked XGBoost booster; answers with ``inplace_predict`` on one thread."""

    framework = "xgboost"
    estimator_class = "xgboost.Booster"

    def __init__(self, booster: Any, summary: dict[str, Any], version: str):
        classification = summary["objective"] in CLASSIFIERS
        super().__init__(
            task="classification" if classification else "regression",
            n_classes=max(summary["num_class"], 2) if classification else 0,
            n_features=summary["num_feature"],
            names=summary["names"],
        )
        self.booster = booster
        self.summary = summary
        self.framework_version = version
        self.categories = summary["categories"]
        self.categories_source = "XGBoost's recorded categories"

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        s = self.summary
        return {
            "objective": s["objective"],
            "booster": s["booster"],
            "num_trees": s["num_trees"],
            "num_feature": s["num_feature"],
            "num_class": s["num_class"],
        }

    def known_ranges(self) -> list[KnownInput]:
        """For a form built from the model alone: each input's span from its lowest to its
        highest split threshold (where the answer can change), a twentieth of the span wider
        on each side (half a unit around a single threshold, so a 0/1 input at 0.5 spans 0 to
        1), so both sides of every split can be reached. Inputs never split on are unknown."""
        if not self.input_names:
            return []
        known = []
        for i, (low, high) in self.summary["thresholds"].items():
            pad = (high - low) / 20 if high > low else max(abs(low) / 20, 0.5)
            if not math.isfinite((high + pad) - (low - pad)):
                continue  # thresholds near the float limits: no slider can span them
            source = "XGBoost's split thresholds (a twentieth wider each side)"
            known.append(KnownInput(self.input_names[i], source, None, low - pad, high + pad))
        return known

    def _raw(self, X: Any) -> np.ndarray:
        return np.asarray(self.booster.inplace_predict(self._matrix(X), validate_features=False))

    def _predict_proba(self, X: Any) -> np.ndarray:
        raw = self._raw(X)
        if self.summary["objective"] == "binary:logistic":
            return two_columns(raw)
        return np.asarray(raw, dtype="float64").reshape(-1, self.n_classes)

    def _values(self, X: Any) -> np.ndarray:
        return np.asarray(self._raw(X), dtype="float64").reshape(-1)


def xgboost_from_bytes(data: bytes, kind: str) -> XGBoostModel:
    """Check an XGBoost JSON/UBJSON model in Python, then load it with XGBoost."""
    summary = document_check(document_from_bytes(data, kind))
    import xgboost  # only once a file of this kind passed its checks

    try:
        booster = xgboost.Booster(params={"nthread": 1})
        booster.load_model(bytearray(data))
        booster.set_param({"nthread": 1})
    except xgboost.core.XGBoostError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown error"
        raise refuse(f"XGBoost cannot load this model: {first[:200]}") from None
    return XGBoostModel(booster, summary, xgboost.__version__)
