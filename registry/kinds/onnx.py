"""ONNX graphs: checked with ``onnx`` (protobuf only, nothing run), then run by onnxruntime.

Refused before onnxruntime sees the graph: operators outside the standard ``ai.onnx`` and
``ai.onnx.ml`` domains (a custom domain names native code), model-local functions, any tensor
whose data lives in an external file (onnxruntime would read whatever path the graph names on
this server), more nodes than ``MAX_ONNX_NODES``, and anything ``onnx.checker`` rejects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from registry.kinds.base import NativeModel, limit, refuse

DOMAINS = {"", "ai.onnx", "ai.onnx.ml"}
CLASSIFIER_OPS = {"LinearClassifier", "TreeEnsembleClassifier", "SVMClassifier", "ZipMap"}
# ONNX TensorProto element types a column can be given as.
_NUMPY = {1: np.float32, 11: np.float64, 7: np.int64, 6: np.int32, 9: np.bool_, 8: object}


def _graphs(graph: Any) -> Iterator[Any]:
    """A graph and every subgraph held in its nodes' attributes (If, Loop, Scan bodies)."""
    stack = [graph]
    while stack:
        g = stack.pop()
        yield g
        for node in g.node:
            for attribute in node.attribute:
                if attribute.HasField("g"):
                    stack.append(attribute.g)
                stack.extend(attribute.graphs)


def _tensors(graph: Any) -> Iterator[Any]:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("sparse_tensor"):
                yield attribute.sparse_tensor.values
                yield attribute.sparse_tensor.indices
            for sparse in attribute.sparse_tensors:
                yield sparse.values
                yield sparse.indices


def graph_check(data: bytes) -> Any:
    """The parsed ModelProto of ``data`` once every check passed."""
    import onnx  # only for a file recognised as ONNX

    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError, or a message too deep
        raise refuse(f"the ONNX graph cannot be read: {str(exc)[:200]}") from None
    if not model.HasField("graph"):
        raise refuse("the ONNX file holds no graph")
    domains = sorted({o.domain for o in model.opset_import} - DOMAINS)
    if domains:
        raise refuse(f"the ONNX graph imports operator domains other than ai.onnx(.ml): {domains}")
    if len(model.functions):
        raise refuse("the ONNX graph defines its own functions, which are not accepted")
    nodes = 0
    for graph in _graphs(model.graph):
        nodes += len(graph.node)
        if nodes > limit("MAX_ONNX_NODES"):
            raise refuse(f"the ONNX graph has more than {limit('MAX_ONNX_NODES')} nodes")
        for node in graph.node:
            if node.domain not in DOMAINS:
                raise refuse(
                    f"node {node.name or node.op_type} uses operator domain {node.domain!r}"
                )
        for tensor in _tensors(graph):
            if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
                raise refuse(f"tensor {tensor.name or '(unnamed)'} names external data")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise refuse(f"onnx.checker refuses the graph: {first[:200]}") from None
    return model


def _input_kind(value_info: Any) -> tuple[Any, list[int | None]]:
    tensor = value_info.type.tensor_type
    if not value_info.type.HasField("tensor_type") or tensor.elem_type not in _NUMPY:
        raise refuse(f"ONNX input {value_info.name} is not a tensor of numbers, text or booleans")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
    return _NUMPY[tensor.elem_type], dims


def _classes_of(model: Any) -> list[Any] | None:
    for graph in _graphs(model.graph):
        for node in graph.node:
            if node.op_type in CLASSIFIER_OPS:
                for attribute in node.attribute:
                    if attribute.name == "classlabels_strings" and attribute.strings:
                        return [s.decode() for s in attribute.strings]
                    if (
                        attribute.name in ("classlabels_int64s", "classlabels_ints")
                        and attribute.ints
                    ):
                        return [int(v) for v in attribute.ints]
    return None


def summary_of(model: Any) -> dict[str, Any]:
    """Inputs, task and classes of a checked graph."""
    inputs = [
        i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}
    ]
    if not inputs:
        raise refuse("the ONNX graph takes no input")
    kinds = [_input_kind(i) for i in inputs]
    if len(inputs) == 1 and len(kinds[0][1]) == 2 and kinds[0][1][1] != 1:
        width = kinds[0][1][1]
        if width is None:
            raise refuse("the ONNX graph's input has no fixed number of columns")
        layout, names = "matrix", None
    else:
        for value_info, (_, dims) in zip(inputs, kinds, strict=True):
            if len(dims) != 2 or dims[1] != 1:
                raise refuse(f"ONNX input {value_info.name} is not one column ([N, 1])")
        width, layout, names = len(inputs), "columns", [i.name for i in inputs]
    outputs = list(model.graph.output)
    classes = _classes_of(model)
    classifier = classes is not None or any(o.type.HasField("sequence_type") for o in outputs)
    if classifier and len(outputs) != 2:
        raise refuse("an ONNX classifier must have two outputs: labels and probabilities")
    if not classifier and (len(outputs) != 1 or not outputs[0].type.HasField("tensor_type")):
        raise refuse("an ONNX regressor must have one tensor output")
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    return {
        "classifier": classifier,
        "classes": classes,
        "width": width,
        "layout": layout,
        "names": names,
        "dtypes": [k[0] for k in kinds],
        "input_names": [i.name for i in inputs],
        "outputs": [o.name for o in outputs],
        "nodes": sum(len(g.node) for g in _graphs(model.graph)),
        "opsets": opsets,
    }


class ONNXModel(NativeModel):
    """A checked ONNX graph answered by an onnxruntime session on one thread."""

    framework = "onnx"
    estimator_class = "onnxruntime.InferenceSession"

    def __init__(self, session: Any, summary: dict[str, Any], version: str):
        n_classes = len(summary["classes"]) if summary["classes"] else 0
        super().__init__(
            task="classification" if summary["classifier"] else "regression",
            n_classes=n_classes,
            n_features=summary["width"],
            names=summary["names"],
        )
        self.own_classes = summary["classes"]
        self.session = session
        self.summary = summary
        self.framework_version = version

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        s = self.summary
        return {
            "inputs": len(s["input_names"]),
            "nodes": s["nodes"],
            **{f"opset_{k}": v for k, v in sorted(s["opsets"].items())},
        }

    def _feed(self, X: Any) -> dict[str, np.ndarray]:
        s = self.summary
        if s["layout"] == "matrix":
            return {s["input_names"][0]: self._matrix(X).astype(s["dtypes"][0])}
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X, dtype=object), columns=s["names"])
        feed = {}
        for name, dtype in zip(s["names"], s["dtypes"], strict=True):
            column = X[name]
            if dtype is object:
                values = np.asarray(column.astype(str), dtype=object)
            else:
                values = np.asarray(pd.to_numeric(column, errors="raise"), dtype="float64")
                values = values.astype(dtype)
            feed[name] = values.reshape(-1, 1)
        return feed

    def _run(self, X: Any) -> list[Any]:
        return self.session.run(None, self._feed(X))

    def _predict_proba(self, X: Any) -> np.ndarray:
        probabilities = self._run(X)[1]
        if isinstance(probabilities, list):  # ZipMap: one {class: p} per row
            order = self.own_classes or list(range(self.n_classes))
            return np.array([[row[c] for c in order] for row in probabilities], dtype="float64")
        return np.asarray(probabilities, dtype="float64").reshape(len(probabilities), -1)

    def _values(self, X: Any) -> np.ndarray:
        return np.asarray(self._run(X)[0], dtype="float64").reshape(-1)


def onnx_from_bytes(data: bytes) -> ONNXModel:
    """Check an ONNX graph in Python, then open it with onnxruntime on one thread."""
    model = graph_check(data)
    summary = summary_of(model)
    import onnxruntime  # only once a file of this kind passed its checks

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    try:
        session = onnxruntime.InferenceSession(
            data, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own exception types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise refuse(f"onnxruntime cannot open the graph: {first[:200]}") from None
    result = ONNXModel(session, summary, onnxruntime.__version__)
    if result.task == "classification" and not result.n_classes:
        raise refuse("the ONNX classifier does not record its class labels")
    return result
