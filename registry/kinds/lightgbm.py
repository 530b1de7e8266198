"""LightGBM boosters (``Booster.save_model`` text): checked in Python, then loaded.

LightGBM's reader trusts the model text: a child index or a split feature out of range is read
past an array's end, a wrong ``num_leaves`` or ``tree_sizes`` aborts the process, a cycle of
children never ends (tests/registry/test_kinds_hostile.py shows each). So the text is parsed
here first, every structure the library indexes is checked, and LightGBM is given a text
rebuilt from what was checked: the header's known keys (without ``tree_sizes``, so LightGBM
reads the trees in order rather than jumping to offsets), each tree's known keys, and the
closing lines. What was not checked never reaches it.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np

from registry.interface import KnownInput
from registry.kinds.base import NativeModel, limit, refuse, two_columns

HEADER_KEYS = (
    "version",
    "num_class",
    "num_tree_per_iteration",
    "label_index",
    "max_feature_idx",
    "objective",
    "average_output",
    "feature_names",
    "feature_infos",
)
IGNORED_HEADER_KEYS = {"tree_sizes", "monotone_constraints"}
TREE_KEYS = (
    "num_leaves",
    "num_cat",
    "split_feature",
    "split_gain",
    "threshold",
    "decision_type",
    "left_child",
    "right_child",
    "leaf_value",
    "leaf_weight",
    "leaf_count",
    "internal_value",
    "internal_weight",
    "internal_count",
    "cat_boundaries",
    "cat_threshold",
    "is_linear",
    "shrinkage",
)
INTERNAL_ARRAYS = ("split_gain", "internal_value", "internal_weight", "internal_count")
LEAF_ARRAYS = ("leaf_weight", "leaf_count")
CLASSIFIERS = {"binary": "binary", "multiclass": "multi", "multiclassova": "multi"}
REGRESSORS = {
    "regression",
    "regression_l1",
    "huber",
    "fair",
    "poisson",
    "quantile",
    "mape",
    "gamma",
    "tweedie",
    "cross_entropy",
    "cross_entropy_lambda",
    "lambdarank",
    "rank_xendcg",
}


def _numbers(text: str, where: str, kind: type = float) -> list:
    try:
        values = [kind(v) for v in text.split()] if text.strip() else []
    except ValueError:
        raise refuse(f"{where} holds something other than numbers") from None
    if kind is float and not all(math.isfinite(v) for v in values):
        raise refuse(f"{where} holds a value that is not finite")
    return values


def _int(text: str | None, where: str) -> int:
    if text is None:
        raise refuse(f"the LightGBM model has no {where}")
    try:
        return int(text.strip())
    except ValueError:
        raise refuse(f"{where} is not an integer ({text[:40]!r})") from None


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def text_parse(data: bytes) -> tuple[dict[str, str], list[dict[str, str]], str]:
    """The header, the trees (each a dict of its lines) and the pandas_categorical value."""
    if len(data) > limit("MAX_TEXT_BYTES"):
        raise refuse(f"the LightGBM model is larger than {limit('MAX_TEXT_BYTES')} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"the LightGBM model is not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise refuse("the LightGBM model holds a NUL byte")
    lines = _lines(text)
    header: dict[str, str] = {}
    i = 0
    while i < len(lines) and not lines[i].startswith("Tree="):
        line = lines[i]
        i += 1
        if not line or line == "tree":
            continue
        key, eq, value = line.partition("=")
        if key in header:
            raise refuse(f"the LightGBM header gives {key} twice")
        header[key] = value if eq else ""
    trees: list[dict[str, str]] = []
    while i < len(lines) and lines[i].startswith("Tree="):
        where = f"tree {len(trees)}"
        if lines[i] != f"Tree={len(trees)}":
            raise refuse(f"{where} is headed {lines[i][:40]!r}")
        i += 1
        tree: dict[str, str] = {}
        while i < len(lines) and lines[i]:
            key, eq, value = lines[i].partition("=")
            if not eq or key not in TREE_KEYS:
                raise refuse(f"{where} has an unknown line {lines[i][:40]!r}")
            if key in tree:
                raise refuse(f"{where} gives {key} twice")
            tree[key] = value
            i += 1
        trees.append(tree)
        if len(trees) > limit("MAX_TREES"):
            raise refuse(f"more than {limit('MAX_TREES')} trees")
        while i < len(lines) and not lines[i]:
            i += 1
    if i >= len(lines) or lines[i] != "end of trees":
        raise refuse("the LightGBM model's trees do not end with 'end of trees'")
    pandas = "null"
    for line in lines[i:]:
        if line.startswith("pandas_categorical:"):
            pandas = line[len("pandas_categorical:") :]
    return header, trees, pandas


def header_check(header: dict[str, str], n_trees: int) -> dict[str, Any]:
    """Check the header against itself and the trees; return what the portal needs."""
    if "version" not in header:
        raise refuse("this is not a LightGBM model (no version in its header)")
    unknown = sorted(set(header) - set(HEADER_KEYS) - IGNORED_HEADER_KEYS)
    if unknown:
        raise refuse(f"the LightGBM header has unknown keys: {', '.join(unknown)[:200]}")
    num_class = _int(header.get("num_class"), "num_class")
    per_iteration = _int(header.get("num_tree_per_iteration"), "num_tree_per_iteration")
    max_feature_idx = _int(header.get("max_feature_idx"), "max_feature_idx")
    _int(header.get("label_index"), "label_index")
    if not 1 <= num_class <= limit("MAX_CLASSES"):
        raise refuse(f"num_class is {num_class}")
    if not 0 <= max_feature_idx < limit("MAX_FEATURES"):
        raise refuse(f"max_feature_idx is {max_feature_idx}")
    if per_iteration != num_class:
        raise refuse(f"num_tree_per_iteration {per_iteration} differs from num_class {num_class}")
    if n_trees == 0 or n_trees % per_iteration:
        raise refuse(f"{n_trees} trees is not a whole number of iterations of {per_iteration}")
    n_features = max_feature_idx + 1
    names = header.get("feature_names", "").split(" ")
    infos = header.get("feature_infos", "").split(" ")
    if len(names) != n_features or len(infos) != n_features:
        raise refuse(
            f"feature_names ({len(names)}) and feature_infos ({len(infos)}) do not name the "
            f"{n_features} features"
        )
    objective = header.get("objective", "").split(" ")
    name = objective[0]
    if name and name not in CLASSIFIERS and name not in REGRESSORS:
        raise refuse(f"objective {name} is not served")
    for part in objective[1:]:
        key, _, value = part.partition(":")
        if not key.isidentifier() or not _is_number(value):
            raise refuse(f"objective parameter {part[:40]!r} is not key:number")
    kind = CLASSIFIERS.get(name)
    if (kind == "multi") != (num_class > 1):
        raise refuse(f"objective {name or '(none)'} disagrees with num_class {num_class}")
    default = all(n == f"Column_{i}" for i, n in enumerate(names))
    # A categorical feature's info lists its category codes ("-1:2:0:1"); a number's is its
    # range ("[0.5:3]") or "none".
    categorical = [i for i, info in enumerate(infos) if info != "none" and info[:1] != "["]
    return {
        "ranges": _ranges(infos),
        "objective": name or "custom",
        "classifier": kind is not None,
        "num_class": num_class,
        "n_features": n_features,
        "names": None if default else names,
        "categorical": categorical,
    }


def categories_check(value: Any, features: list[int]) -> list[list[Any]]:
    """pandas_categorical: for each categorical feature, in order, the categories whose
    position is the code LightGBM was trained on (null or [] when there are none)."""
    if value in (None, []):
        if features:
            raise refuse(f"{len(features)} categorical features but no pandas_categorical")
        return []
    if not isinstance(value, list) or len(value) != len(features):
        raise refuse(
            f"pandas_categorical does not give the categories of the {len(features)} "
            "categorical features"
        )
    for position, categories in enumerate(value):
        where = f"pandas_categorical[{position}]"
        if not isinstance(categories, list) or not categories:
            raise refuse(f"{where} is not a list of categories")
        if len(categories) > limit("MAX_CATEGORY"):
            raise refuse(f"{where} has more than {limit('MAX_CATEGORY')} categories")
        if not all(
            isinstance(c, str | int | float) and not isinstance(c, bool) for c in categories
        ):
            raise refuse(f"{where} holds something other than text or numbers")
        if len({str(c) for c in categories}) != len(categories):
            raise refuse(f"{where} names a category twice")
    return value


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def tree_check(tree: dict[str, str], t: int, n_features: int) -> int:
    """Check one tree's arrays and shape; return its node count."""
    where = f"tree {t}"
    leaves = _int(tree.get("num_leaves"), f"{where} num_leaves")
    num_cat = _int(tree.get("num_cat", "0"), f"{where} num_cat")
    if not 1 <= leaves <= limit("MAX_TREE_NODES") // 2:
        raise refuse(f"{where} has {leaves} leaves; at most {limit('MAX_TREE_NODES') // 2}")
    if _int(tree.get("is_linear", "0"), f"{where} is_linear") != 0:
        raise refuse(f"{where} is a linear tree, which the portal does not serve")
    _numbers(tree.get("shrinkage", "1"), f"{where} shrinkage")
    if len(_numbers(tree.get("leaf_value", ""), f"{where} leaf_value")) != leaves:
        raise refuse(f"{where}: leaf_value does not hold num_leaves={leaves} values")
    for key in LEAF_ARRAYS:
        if key in tree and len(_numbers(tree[key], f"{where} {key}")) != leaves:
            raise refuse(f"{where}: {key} does not hold num_leaves={leaves} values")
    if leaves == 1:
        if num_cat or any(k in tree for k in ("left_child", "right_child", "split_feature")):
            raise refuse(f"{where} has one leaf and yet splits")
        return 1
    inner = leaves - 1
    split = _numbers(tree.get("split_feature", ""), f"{where} split_feature", int)
    threshold = _numbers(tree.get("threshold", ""), f"{where} threshold")
    decision = _numbers(tree.get("decision_type", ""), f"{where} decision_type", int)
    left = _numbers(tree.get("left_child", ""), f"{where} left_child", int)
    right = _numbers(tree.get("right_child", ""), f"{where} right_child", int)
    for key, values in (
        ("split_feature", split),
        ("threshold", threshold),
        ("decision_type", decision),
        ("left_child", left),
        ("right_child", right),
    ):
        if len(values) != inner:
            raise refuse(f"{where}: {key} has {len(values)} entries for num_leaves={leaves}")
    for key in INTERNAL_ARRAYS:
        if key in tree and len(_numbers(tree[key], f"{where} {key}")) != inner:
            raise refuse(f"{where}: {key} has the wrong length for num_leaves={leaves}")
    for i in range(inner):
        if not 0 <= split[i] < n_features:
            raise refuse(f"{where}, node {i}: split feature {split[i]} is not below {n_features}")
        if not 0 <= decision[i] < 16 or (decision[i] >> 2) & 3 == 3:
            raise refuse(f"{where}, node {i}: unknown decision_type {decision[i]}")
        if decision[i] & 1 and not (threshold[i].is_integer() and 0 <= threshold[i] < num_cat):
            raise refuse(f"{where}, node {i}: categorical split {threshold[i]} has no bitset")
    # Children: n >= 0 is an inner node, ~n a leaf. From the root each node and each leaf is
    # reached exactly once: a tree, no cycle, nothing out of range.
    seen_inner, seen_leaf, stack = {0}, set(), [0]
    while stack:
        node = stack.pop()
        for child in (left[node], right[node]):
            if child >= 0:
                if child >= inner:
                    raise refuse(f"{where}, node {node}: child {child} is not a node")
                if child in seen_inner:
                    raise refuse(f"{where}: node {child} is reached twice (a cycle)")
                seen_inner.add(child)
                stack.append(child)
            else:
                leaf = ~child
                if leaf >= leaves:
                    raise refuse(f"{where}, node {node}: leaf {leaf} is not a leaf")
                if leaf in seen_leaf:
                    raise refuse(f"{where}: leaf {leaf} is reached twice")
                seen_leaf.add(leaf)
    if len(seen_inner) != inner or len(seen_leaf) != leaves:
        raise refuse(f"{where}: not every node and leaf is reached from the root")
    _categories_check(tree, where, num_cat)
    return 2 * leaves - 1


def _categories_check(tree: dict[str, str], where: str, num_cat: int) -> None:
    if num_cat < 0 or num_cat > limit("MAX_TREE_NODES"):
        raise refuse(f"{where}: num_cat is {num_cat}")
    if num_cat == 0:
        if tree.get("cat_boundaries") or tree.get("cat_threshold"):
            raise refuse(f"{where} has categorical bitsets but num_cat=0")
        return
    bounds = _numbers(tree.get("cat_boundaries", ""), f"{where} cat_boundaries", int)
    words = _numbers(tree.get("cat_threshold", ""), f"{where} cat_threshold", int)
    if len(bounds) != num_cat + 1 or bounds[0] != 0:
        raise refuse(f"{where}: cat_boundaries does not give num_cat={num_cat} bitsets from 0")
    if any(b < a for a, b in itertools.pairwise(bounds)) or bounds[-1] != len(words):
        raise refuse(f"{where}: cat_boundaries do not cover the {len(words)} cat_threshold words")
    if any(not 0 <= w < 2**32 for w in words):
        raise refuse(f"{where}: a cat_threshold word is not a 32-bit bitset")


def _ranges(infos: list[str]) -> dict[int, tuple[float, float]]:
    """Each number input's training range, from its feature_infos entry "[low:high]" (only
    finite ranges with low <= high; anything else is left unknown, never refused: LightGBM
    itself does not read these to answer)."""
    ranges = {}
    for i, info in enumerate(infos):
        if info[:1] != "[" or info[-1:] != "]":
            continue
        low, _, high = info[1:-1].partition(":")
        try:
            pair = float(low), float(high)
        except ValueError:
            continue
        if math.isfinite(pair[1] - pair[0]) and pair[0] <= pair[1]:
            ranges[i] = pair
    return ranges


def model_text_check(data: bytes) -> tuple[dict[str, Any], str]:
    """Check a LightGBM model text; return what the portal needs and the rebuilt text."""
    header, trees, pandas = text_parse(data)
    summary = header_check(header, len(trees))
    try:
        found = json.loads(pandas)
    except ValueError:
        raise refuse("pandas_categorical is not JSON") from None
    categories = categories_check(found, summary["categorical"])
    summary["categories"] = {
        summary["categorical"][k]: values for k, values in enumerate(categories)
    }
    total = 0
    for t, tree in enumerate(trees):
        total += tree_check(tree, t, summary["n_features"])
        if total > limit("MAX_TOTAL_NODES"):
            raise refuse(f"more than {limit('MAX_TOTAL_NODES')} nodes in all")
    summary["num_trees"] = len(trees)
    out = ["tree"]
    out += [f"{k}={header[k]}" if header[k] else k for k in HEADER_KEYS if k in header]
    out.append("")
    for t, tree in enumerate(trees):
        out.append(f"Tree={t}")
        out += [f"{k}={tree[k]}" for k in TREE_KEYS if k in tree]
        out += ["", ""]
    out += ["end of trees", "", f"pandas_categorical:{json.dumps(categories or None)}", ""]
    return summary, "\n".join(out)


class LightGBMModel(NativeModel):
    """A checked LightGBM booster; answers with ``Booster.predict`` on one thread."""

    framework = "lightgbm"
    estimator_class = "lightgbm.Booster"

    def __init__(self, booster: Any, summary: dict[str, Any], version: str):
        super().__init__(
            task="classification" if summary["classifier"] else "regression",
            n_classes=max(summary["num_class"], 2) if summary["classifier"] else 0,
            n_features=summary["n_features"],
            names=summary["names"],
        )
        self.booster = booster
        self.summary = summary
        self.framework_version = version
        self.categories = summary["categories"]
        self.categories_source = "LightGBM's pandas_categorical"

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        s = self.summary
        return {
            "objective": s["objective"],
            "num_trees": s["num_trees"],
            "num_feature": s["n_features"],
            "num_class": s["num_class"],
        }

    def known_ranges(self) -> list[KnownInput]:
        """The range of each number input in the training data (the header's feature_infos),
        for a form built from the model alone."""
        names = self.input_names or [f"Column_{i}" for i in range(self.n_features_in_)]
        return [
            KnownInput(names[i], "LightGBM's feature_infos (the training range)", None, lo, hi)
            for i, (lo, hi) in self.summary["ranges"].items()
        ]

    def _raw(self, X: Any) -> np.ndarray:
        return np.asarray(self.booster.predict(self._matrix(X), num_threads=1))

    def _predict_proba(self, X: Any) -> np.ndarray:
        raw = self._raw(X)
        if self.summary["num_class"] == 1:
            return two_columns(raw)
        return np.asarray(raw, dtype="float64").reshape(-1, self.n_classes)

    def _values(self, X: Any) -> np.ndarray:
        return np.asarray(self._raw(X), dtype="float64").reshape(-1)


def lightgbm_from_bytes(data: bytes) -> LightGBMModel:
    """Check a LightGBM model text in Python, then load the rebuilt text with LightGBM."""
    summary, text = model_text_check(data)
    import lightgbm  # only once a file of this kind passed its checks

    try:
        booster = lightgbm.Booster(model_str=text)
    except lightgbm.basic.LightGBMError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown error"
        raise refuse(f"LightGBM cannot load this model: {first[:200]}") from None
    return LightGBMModel(booster, summary, lightgbm.__version__)
