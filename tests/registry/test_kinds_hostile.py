"""Hostile XGBoost, LightGBM and ONNX files: each really harms a process that loads it with
the native library, and each is refused by our checks with one line naming what is wrong.

Each file is made the way an attacker would: a real model saved by its library, then one
structure edited. The harm is shown in a separate Python process (segfault, abort, a loop
that never ends, or a file of this server read); where an edit does not harm the library
today, the test says so and checks that we refuse it anyway.
"""

from __future__ import annotations

import copy
import json
import signal
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from registry.artifacts.store import ArtifactError, estimator_from_bytes
from tests import kinds_models as km

SEGFAULT, ABORT, HANG, ERROR, ANSWERS = "segfault", "abort", "hang", "error", "answers"

XGBOOST_LOAD = """
import sys, numpy as np, xgboost
booster = xgboost.Booster(model_file=sys.argv[1])
print(booster.inplace_predict(np.random.default_rng(0).normal(size=(50, 4)) * 3)[:1])
"""
LIGHTGBM_LOAD = """
import sys, numpy as np, lightgbm
booster = lightgbm.Booster(model_file=sys.argv[1])
print(booster.predict(np.random.default_rng(0).normal(size=(50, 4)) * 3)[:1])
"""


def native_outcome(script: str, path, timeout: float = 8) -> str:
    """What loading the file with the native library does to a fresh Python process."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script), str(path)],
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return HANG
    if done.returncode == -signal.SIGSEGV:
        return SEGFAULT
    if done.returncode == -signal.SIGABRT:
        return ABORT
    return ERROR if done.returncode else ANSWERS


def refusal(data: bytes) -> str:
    with pytest.raises(ArtifactError) as caught:
        estimator_from_bytes(data)
    message = caught.value.reason
    assert "\n" not in message and message.startswith(("Refused: ", "This is not"))
    return message


# ------------------------------------------------------------------ XGBoost JSON
@pytest.fixture(scope="module")
def xgb_doc():
    return json.loads(km.booster_json(km.xgboost_classifier(km.iris_frame())))


def _tree(doc, i=0):
    return doc["learner"]["gradient_booster"]["model"]["trees"][i]


def _model(doc):
    return doc["learner"]["gradient_booster"]["model"]


def _categorical_segment_past_end(doc):
    tree = _tree(doc)
    tree["split_type"][0] = 1
    tree.update(
        categories_nodes=[0],
        categories_segments=[100_000_000],
        categories_sizes=[4],
        categories=[0, 1, 2],
    )


def _huge_tree(doc):
    tree = _tree(doc)
    n = 1_000_001  # a 10^6-node tree: a chain of leaves past the limit
    tree["tree_param"]["num_nodes"] = str(n)
    for key in ("left_children", "right_children"):
        tree[key] = [-1] * n
    for key in ("parents", "split_indices", "split_type", "default_left"):
        tree[key] = [0] * n
    for key in ("split_conditions", "base_weights", "loss_changes", "sum_hessian"):
        tree[key] = [0.0] * n


XGBOOST_CASES = [
    # name, edit, what XGBoost 3.4 does with it, what our refusal names
    (
        "child past the nodes",
        lambda d: _tree(d)["left_children"].__setitem__(1, 100_000_000),
        SEGFAULT,
        "child 100000000 is not a node",
    ),
    (
        "negative child",
        lambda d: _tree(d)["right_children"].__setitem__(0, -50_000_000),
        SEGFAULT,
        "is not a node",
    ),
    (
        "split feature past the features",
        lambda d: _tree(d)["split_indices"].__setitem__(0, 10**8),
        SEGFAULT,
        "split feature 100000000 is not below 4",
    ),
    (
        "cycle back to the root",
        lambda d: _tree(d)["left_children"].__setitem__(1, 0),
        SEGFAULT,
        "child 0 is not a node",
    ),
    (
        "tree_info class out of range",
        lambda d: _model(d)["tree_info"].__setitem__(0, 10**6),
        SEGFAULT,
        "tree_info names a class outside 0..2",
    ),
    (
        "categorical segment past the categories",
        _categorical_segment_past_end,
        SEGFAULT,
        "categories 100000000..100000004 lie outside the 3 recorded",
    ),
    # These XGBoost itself refuses today (an error, no crash); we refuse them first anyway.
    (
        "arrays of unequal length",
        lambda d: _tree(d)["split_conditions"].pop(),
        ERROR,
        "split_conditions has",
    ),
    (
        "num_trees disagrees",
        lambda d: _model(d)["gbtree_model_param"].update(num_trees="900"),
        ERROR,
        "num_trees is 900 but the model holds",
    ),
    (
        "iteration_indptr past the trees",
        lambda d: _model(d).update(iteration_indptr=[0, 3, 6, 900_000]),
        ERROR,
        "iteration_indptr does not run from 0",
    ),
    ("a 10^6-node tree", _huge_tree, None, "tree 0 has 1000001 nodes; at most 262144"),
]


@pytest.mark.parametrize(
    ("edit", "harm", "named"),
    [case[1:] for case in XGBOOST_CASES],
    ids=[case[0] for case in XGBOOST_CASES],
)
def test_a_crafted_xgboost_json_harms_xgboost_and_is_refused(xgb_doc, tmp_path, edit, harm, named):
    doc = copy.deepcopy(xgb_doc)
    edit(doc)
    data = json.dumps(doc).encode()
    if harm is not None:  # the 10^6-node tree is refused for its size; loading it only costs
        path = tmp_path / "crafted.json"
        path.write_bytes(data)
        assert native_outcome(XGBOOST_LOAD, path) == harm
    assert named in refusal(data)


def test_an_untouched_xgboost_json_loads(xgb_doc):
    model = estimator_from_bytes(json.dumps(xgb_doc).encode())
    assert model.framework == "xgboost" and model.n_features_in_ == 4


def test_a_json_key_given_twice_is_refused(xgb_doc):
    # Python keeps the last, a C++ reader may keep the first: we would check one and load
    # the other. A document with a key twice is refused outright.
    text = json.dumps(xgb_doc)
    data = text.replace('{"learner":', '{"version": [1, 0, 0], "learner":', 1).encode()
    assert "gives the key 'version' twice" in refusal(data)


# ------------------------------------------------------------------ XGBoost UBJSON
def _patch_int32_array(data: bytes, key: bytes, index: int, value: int) -> bytes:
    """The UBJSON bytes with element ``index`` of the first int32 array ``key`` set."""
    at = data.index(key + b"[$l#L") + len(key) + 5 + 8 + 4 * index
    return data[:at] + struct.pack(">i", value) + data[at + 4 :]


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        (b"left_children", 100_000_000, "child 100000000 is not a node"),
        (b"split_indices", 100_000_000, "split feature 100000000 is not below 4"),
    ],
)
def test_a_crafted_xgboost_ubjson_segfaults_xgboost_and_is_refused(tmp_path, key, value, named):
    data = km.booster_ubjson(km.xgboost_classifier(km.iris_frame()))
    crafted = _patch_int32_array(data, key, 1 if key == b"left_children" else 0, value)
    path = tmp_path / "crafted.ubj"
    path.write_bytes(crafted)
    assert native_outcome(XGBOOST_LOAD, path) == SEGFAULT
    assert named in refusal(crafted)


def test_a_truncated_ubjson_is_refused():
    data = km.booster_ubjson(km.xgboost_classifier(km.iris_frame()))
    message = refusal(data[: len(data) // 2])
    assert "the XGBoost model cannot be read" in message
    assert "ends early" in message or "exceeds the file" in message


def test_a_ubjson_length_past_the_file_is_refused_before_anything_is_allocated():
    # A string claiming 2^62 bytes: refused by its count, never allocated.
    data = b"{L" + struct.pack(">q", 2**62) + b"x"
    assert "exceeds the file" in refusal(data)


# ------------------------------------------------------------------ LightGBM text
@pytest.fixture(scope="module")
def lgb_text():
    return km.lightgbm_text(km.lightgbm_classifier(km.iris_frame())).decode()


def _first_tree_line(text: str, key: str, edit) -> str:
    start = text.index("Tree=0\n")
    at = text.index(f"\n{key}=", start) + 1
    end = text.index("\n", at)
    values = text[at + len(key) + 1 : end].split(" ")
    return text[:at] + f"{key}=" + " ".join(edit(values)) + text[end:]


def _set(index, value):
    def edit(values):
        values[index] = str(value)
        return values

    return edit


def _header(key: str, value: str):
    def edit(text: str) -> str:
        at = text.index(f"\n{key}=") + 1
        end = text.index("\n", at)
        return text[:at] + f"{key}={value}" + text[end:]

    return edit


LIGHTGBM_CASES = [
    (
        "child past the nodes",
        lambda t: _first_tree_line(t, "left_child", _set(0, 1_000_000)),
        ABORT,
        "child 1000000 is not a node",
    ),
    (
        "leaf past the leaves",
        lambda t: _first_tree_line(t, "right_child", _set(0, -1_000_000)),
        ABORT,
        "leaf 999999 is not a leaf",
    ),
    (
        "split feature past the features",
        lambda t: _first_tree_line(t, "split_feature", _set(0, 1_000_000)),
        ABORT,
        "split feature 1000000 is not below 4",
    ),
    (
        "num_leaves larger than the arrays",
        lambda t: _first_tree_line(t, "num_leaves", lambda v: ["400"]),
        ABORT,
        "leaf_value does not hold num_leaves=400 values",
    ),
    (
        "a child cycle",
        lambda t: _first_tree_line(t, "left_child", _set(0, 0)),
        HANG,
        "node 0 is reached twice (a cycle)",
    ),
    (
        "tree_sizes past the text",
        _header("tree_sizes", " ".join(["999999999"] * 18)),
        SEGFAULT,
        None,
    ),
    (
        "categorical split without bitsets",
        lambda t: _first_tree_line(t, "num_cat", lambda v: ["1"]),
        ABORT,
        "cat_boundaries does not give num_cat=1 bitsets",
    ),
    # LightGBM refuses this itself (an error); we refuse it first.
    (
        "max_feature_idx disagrees",
        _header("max_feature_idx", "1"),
        ERROR,
        "do not name the 2 features",
    ),
    # LightGBM answers this one, with class probabilities spread over 30 classes.
    (
        "num_class disagrees with the trees",
        lambda t: _header("num_tree_per_iteration", "30")(_header("num_class", "30")(t)),
        ANSWERS,
        "is not a whole number of iterations of 30",
    ),
]


@pytest.mark.parametrize(
    ("edit", "harm", "named"),
    [case[1:] for case in LIGHTGBM_CASES],
    ids=[case[0] for case in LIGHTGBM_CASES],
)
def test_a_crafted_lightgbm_text_harms_lightgbm_and_is_refused(
    lgb_text, tmp_path, edit, harm, named
):
    crafted = edit(lgb_text)
    assert crafted != lgb_text
    path = tmp_path / "crafted.txt"
    path.write_text(crafted)
    assert native_outcome(LIGHTGBM_LOAD, path) == harm
    if named is None:
        # tree_sizes is never trusted: LightGBM is given the text rebuilt without it and
        # reads the trees in order, so the edited file loads and answers as the original.
        model = estimator_from_bytes(crafted.encode()).labelled(["a", "b", "c"])
        original = estimator_from_bytes(lgb_text.encode()).labelled(["a", "b", "c"])
        X = np.random.default_rng(1).normal(size=(20, 4))
        assert np.array_equal(model.predict_proba(X), original.predict_proba(X))
    else:
        assert named in refusal(crafted.encode())


def test_a_truncated_lightgbm_text_is_refused(lgb_text):
    cut = lgb_text[: lgb_text.index("Tree=3")]
    assert "do not end with 'end of trees'" in refusal(cut.encode())


def test_a_huge_lightgbm_tree_is_refused_by_its_size(lgb_text):
    leaves = 1_000_001
    crafted = _first_tree_line(lgb_text, "num_leaves", lambda v: [str(leaves)])
    assert "has 1000001 leaves; at most" in refusal(crafted.encode())


# ------------------------------------------------------------------ ONNX
@pytest.fixture(scope="module")
def onnx_model():
    import onnx

    return onnx.load_from_string(km.onnx_classifier(km.iris_frame()))


def test_an_onnx_graph_with_external_data_reads_a_server_file_and_is_refused(tmp_path):
    # Not a crash: worse. A tensor's data "lives" in a file the graph names, and onnxruntime
    # reads that file of this server into the model. Here the secret is a file beside it
    # (onnxruntime 1.31 refuses an absolute path, not a file beside the model's own).
    import onnx
    from onnx import TensorProto, helper

    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(4, dtype="float32").tobytes())
    weights = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4])
    weights.data_location = TensorProto.EXTERNAL
    weights.external_data.add(key="location", value="secret.bin")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "leak",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    path = tmp_path / "leak.onnx"
    path.write_bytes(model.SerializeToString())
    script = f"""
    import numpy as np, onnxruntime
    s = onnxruntime.InferenceSession({str(path)!r}, providers=["CPUExecutionProvider"])
    print(s.run(None, {{"x": np.zeros((1, 4), dtype="float32")}})[0].tolist())
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True)
    assert done.stdout.strip() == b"[[0.0, 1.0, 2.0, 3.0]]"  # the server's file, read
    assert "tensor w names external data" in refusal(model.SerializeToString())
    assert onnx.load_from_string(model.SerializeToString())  # it is a well-formed graph


def test_an_onnx_graph_with_an_unknown_domain_is_refused(onnx_model, tmp_path):
    # onnxruntime refuses a domain it has no kernels for (an error, no crash); a custom op
    # library registered in a worker would run it. We accept the standard domains only.
    import onnx

    model = copy.deepcopy(onnx_model)
    model.opset_import.add(domain="com.example.ops", version=1)
    model.graph.node[0].domain = "com.example.ops"
    data = model.SerializeToString()
    path = tmp_path / "custom.onnx"
    path.write_bytes(data)
    script = f"""
    import onnxruntime
    onnxruntime.InferenceSession({str(path)!r}, providers=["CPUExecutionProvider"])
    """
    assert native_outcome(script, path) == ERROR
    assert "operator domains other than ai.onnx(.ml): ['com.example.ops']" in refusal(data)
    assert onnx


def test_an_onnx_graph_with_too_many_nodes_is_refused(settings):
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Identity", [f"v{i}"], [f"v{i + 1}"]) for i in range(50)]
    graph = helper.make_graph(
        nodes,
        "long",
        [helper.make_tensor_value_info("v0", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("v50", TensorProto.FLOAT, [None, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    settings.PORTAL = {**settings.PORTAL, "MAX_ONNX_NODES": 40}
    assert "more than 40 nodes" in refusal(model.SerializeToString())


def test_a_truncated_onnx_graph_is_refused():
    data = km.onnx_classifier(km.iris_frame())
    message = refusal(data[: len(data) // 2])
    assert "ONNX graph cannot be read" in message or "onnx.checker" in message


# ------------------------------------------------------------------ no kind at all
@pytest.mark.parametrize(
    "data",
    [b"\x80\x04\x95 pickle", b"hello, world", b"", b"{}", b"tree\n"],
    ids=["pickle", "text", "empty", "empty-json", "bare-tree-line"],
)
def test_a_file_of_no_known_kind_is_refused(data):
    with pytest.raises(ArtifactError) as caught:
        estimator_from_bytes(data)
    assert "\n" not in caught.value.reason
