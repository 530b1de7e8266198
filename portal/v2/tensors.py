"""Tensors of the Open Inference Protocol to rows and answers to tensors.

A request carries one tensor per input column, of shape ``[N]`` or ``[N, 1]`` (the pandas
codec's convention), as JSON ``data`` or, with Triton's binary tensor extension, as raw bytes
after the JSON header. Rows go on to the same validation as ``/api/v1/…/predict/``, which names
the field (here the tensor) and the row of anything wrong.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from portal.web.parsers import bounded_int
from registry.interface import Interface, echo
from registry.limits import rows_limit_check

# The interface's input types as tensor datatypes (metadata), and what each datatype's
# JSON data may hold (a request).
DATATYPE_OF = {"number": "FP64", "integer": "INT64", "boolean": "BOOL"}
_NUMERIC = {
    "FP64": "<f8",
    "FP32": "<f4",
    "FP16": "<f2",
    "INT64": "<i8",
    "INT32": "<i4",
    "INT16": "<i2",
    "INT8": "<i1",
    "UINT64": "<u8",
    "UINT32": "<u4",
    "UINT16": "<u2",
    "UINT8": "<u1",
}
DATATYPES = (*_NUMERIC, "BOOL", "BYTES")
OUTPUTS = ("predict", "predict_proba")


class TensorError(ValueError):
    """A request that is not a valid inference request; the message names the tensor."""


def input_metadata(interface: Interface) -> list[dict[str, Any]]:
    """One tensor description per input: its name, datatype and shape ``[-1]``."""
    return [
        {"name": f.name, "datatype": DATATYPE_OF.get(f.type, "BYTES"), "shape": [-1]}
        for f in interface.fields
    ]


def output_metadata(interface: Interface) -> list[dict[str, Any]]:
    """``predict`` (labels as BYTES, values as FP64) and, for a classifier, ``predict_proba``."""
    if interface.task == "regression":
        return [{"name": "predict", "datatype": "FP64", "shape": [-1]}]
    classes = [str(c) for c in interface.classes]
    return [
        {"name": "predict", "datatype": "BYTES", "shape": [-1]},
        {
            "name": "predict_proba",
            "datatype": "FP64",
            "shape": [-1, len(classes)],
            "parameters": {"classes": classes},
        },
    ]


def split_body(body: bytes, header_length: str | None) -> tuple[Any, bytes]:
    """The JSON request and the binary part after it (Triton's binary tensor extension)."""
    if header_length is None:
        head, rest = body, b""
    else:
        try:
            size = int(header_length)
        except ValueError:
            raise TensorError("Inference-Header-Content-Length must be a number.") from None
        if not 0 < size <= len(body):
            raise TensorError("Inference-Header-Content-Length is outside the body.")
        head, rest = body[:size], body[size:]
    try:
        return json.loads(head, parse_int=bounded_int), rest
    except (ValueError, RecursionError) as exc:
        raise TensorError(f"The body is not a JSON inference request: {exc}") from None


def _flatten(data: Any, name: str, rows: int) -> list[Any]:
    """The values of a tensor of shape [N] or [N, 1]: flat, or each value in a list of one.

    The count is checked against the shape before any value is looked at.
    """
    if not isinstance(data, list):
        raise TensorError(f"Tensor '{name}': data must be a list.")
    if len(data) != rows:
        raise TensorError(f"Tensor '{name}': shape [{rows}] but {len(data)} values.")
    flat = []
    for row, value in enumerate(data):
        if isinstance(value, list):
            if len(value) != 1 or isinstance(value[0], list):
                raise TensorError(f"Tensor '{name}', row {row}: give one value per row.")
            value = value[0]
        flat.append(value)
    return flat


def _from_binary(name: str, datatype: str, raw: bytes, rows: int) -> list[Any]:
    """The values of a binary tensor, decoded as one NumPy array (a length-prefixed scan for
    BYTES), after its size has been checked against its shape: never more than ``rows``."""
    if datatype == "BYTES":
        values, at = [], 0
        while at < len(raw) and len(values) < rows:
            if at + 4 > len(raw):
                raise TensorError(f"Tensor '{name}': its binary data ends inside an element.")
            (size,) = struct.unpack_from("<I", raw, at)
            at += 4
            if at + size > len(raw):
                raise TensorError(f"Tensor '{name}': its binary data ends inside an element.")
            values.append(raw[at : at + size])
            at += size
        if len(values) != rows or at != len(raw):
            raise TensorError(
                f"Tensor '{name}': its shape says {rows} rows but its binary data does not "
                f"hold exactly {rows} elements."
            )
        return values
    return np.frombuffer(raw, dtype=_dtype(datatype)).tolist()


def _dtype(datatype: str) -> np.dtype:
    return np.dtype("?" if datatype == "BOOL" else _NUMERIC[datatype])


def _check_value(name: str, datatype: str, row: int, value: Any) -> Any:
    if datatype == "BYTES":
        if isinstance(value, bytes):
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                raise TensorError(f"Tensor '{name}', row {row}: the bytes are not UTF-8.") from None
        if isinstance(value, str):
            return value
    elif datatype == "BOOL":
        if isinstance(value, bool):
            return value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        whole = not isinstance(value, float) or (math.isfinite(value) and value.is_integer())
        if datatype.startswith(("INT", "UINT")) and not whole:
            raise TensorError(f"Tensor '{name}', row {row}: {datatype} needs a whole number.")
        return value
    raise TensorError(f"Tensor '{name}', row {row}: {echo(value)} is not {datatype}.")


@dataclass
class _Tensor:
    name: str
    datatype: str
    rows: int
    data: Any = None
    binary: tuple[int, int] | None = None  # its byte range in the binary part


def _headers(tensors: Any, binary: bytes, inputs: Sequence[str]) -> list[_Tensor]:
    """Every tensor's name, datatype, rows and byte range, checked before any data is read:
    an input of the model given once (so no more tensors than inputs), a shape within the
    row limit, the same rows in every
    tensor, binary sizes that fit the datatype and cover the binary part exactly."""
    if not isinstance(tensors, list) or not tensors:
        raise TensorError("Send 'inputs': a list of tensors, one per input column.")
    known, seen, found, at = set(inputs), set(), [], 0
    for index, tensor in enumerate(tensors):
        if not isinstance(tensor, Mapping) or not isinstance(tensor.get("name"), str):
            raise TensorError(f"Input tensor {index} needs a 'name'.")
        name = tensor["name"]
        if name not in known:
            raise TensorError(
                f"Tensor {echo(name)} is not an input of this model: {', '.join(inputs)}."
            )
        if name in seen:
            raise TensorError(f"Tensor '{name}' is given twice.")
        seen.add(name)
        datatype = tensor.get("datatype")
        if datatype not in DATATYPES:
            raise TensorError(f"Tensor '{name}': datatype must be one of {', '.join(DATATYPES)}.")
        shape = tensor.get("shape")
        if (
            not isinstance(shape, list)
            or not all(type(d) is int and d >= 0 for d in shape)
            or not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1))
        ):
            raise TensorError(f"Tensor '{name}': shape must be [N] or [N, 1] (one input column).")
        rows = shape[0]
        if found and rows != found[0].rows:
            raise TensorError(
                f"Tensor '{name}' has {rows} rows; the first tensor has {found[0].rows}."
            )
        rows_limit_check(rows)
        parameters = tensor.get("parameters") or {}
        size = parameters.get("binary_data_size") if isinstance(parameters, Mapping) else None
        if size is None:
            found.append(_Tensor(name, datatype, rows, data=tensor.get("data")))
            continue
        if type(size) is not int or size < 0 or at + size > len(binary):
            raise TensorError(f"Tensor '{name}': binary_data_size runs past the body.")
        if datatype != "BYTES" and size != rows * _dtype(datatype).itemsize:
            raise TensorError(
                f"Tensor '{name}': {size} bytes of {datatype} is not the {rows} rows its shape "
                "says."
            )
        found.append(_Tensor(name, datatype, rows, binary=(at, at + size)))
        at += size
    if at != len(binary):
        raise TensorError("The body holds binary data that no tensor claims.")
    if not found[0].rows:
        raise TensorError("The tensors hold no rows.")
    return found


def request_rows(
    request: Any, binary: bytes, inputs: Sequence[str]
) -> tuple[list[dict[str, Any]], list[str] | None]:
    """The rows of an inference request for a model with these ``inputs``, and the outputs
    it asks for (None: all).

    Raises :class:`TensorError` naming the tensor (and row) of anything malformed, and
    ``PayloadTooLarge`` for more rows than one call may carry. Shapes, row counts and binary
    sizes are checked from the tensors' headers before any data is decoded, so what a request
    costs is bounded by the row limit, not by its body. Whether a value suits its input (a
    known category, a number in range) is left to the interface.
    """
    if not isinstance(request, Mapping):
        raise TensorError("Send a JSON object with 'inputs'.")
    found = _headers(request.get("inputs"), binary, inputs)
    wanted = _requested_outputs(request.get("outputs"))
    columns: dict[str, list[Any]] = {}
    for tensor in found:
        if tensor.binary is not None:
            start, end = tensor.binary
            values = _from_binary(tensor.name, tensor.datatype, binary[start:end], tensor.rows)
        else:
            values = _flatten(tensor.data, tensor.name, tensor.rows)
        columns[tensor.name] = [
            _check_value(tensor.name, tensor.datatype, i, v) for i, v in enumerate(values)
        ]
    names = list(columns)
    cells = zip(*columns.values(), strict=True)
    return [dict(zip(names, values, strict=True)) for values in cells], wanted


def _requested_outputs(outputs: Any) -> list[str] | None:
    if outputs is None:
        return None
    if not isinstance(outputs, list) or not all(
        isinstance(o, Mapping) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise TensorError("'outputs' must be a list of {\"name\": …}.")
    names = [o["name"] for o in outputs]
    unknown = [n for n in names if n not in OUTPUTS]
    if unknown:
        raise TensorError(f"Unknown output '{unknown[0]}': ask for predict or predict_proba.")
    return names


def outputs_check(interface: Interface, wanted: list[str] | None) -> None:
    """Refuse an output the model does not have (a regressor has no ``predict_proba``)."""
    available = {o["name"] for o in output_metadata(interface)}
    missing = [n for n in wanted or [] if n not in available]
    if missing:
        raise TensorError(f"This model has no output '{missing[0]}'.")


def wants_binary(request: Mapping[str, Any], name: str) -> bool:
    """Whether the caller asked for output ``name`` as binary data."""
    for output in request.get("outputs") or []:
        parameters = output.get("parameters") if output.get("name") == name else None
        if isinstance(parameters, Mapping) and "binary_data" in parameters:
            return bool(parameters["binary_data"])
    parameters = request.get("parameters")
    return bool(isinstance(parameters, Mapping) and parameters.get("binary_data_output"))


def answer_tensors(
    interface: Interface, predictions: list[dict[str, Any]], wanted: list[str] | None
) -> list[dict[str, Any]]:
    """The outputs for one call's answers (the API's records), in the order asked."""
    regression = interface.task == "regression"
    probabilities = not regression and all("probabilities" in p for p in predictions)
    available = ["predict", "predict_proba"] if probabilities else ["predict"]
    names = wanted if wanted is not None else available
    missing = [n for n in names if n not in available]
    if missing:
        raise TensorError(f"This model has no output '{missing[0]}'.")
    n = len(predictions)
    tensors = []
    for name in names:
        if name == "predict" and regression:
            tensors.append(
                {
                    "name": "predict",
                    "datatype": "FP64",
                    "shape": [n],
                    "data": [p["value"] for p in predictions],
                }
            )
        elif name == "predict":
            labels = [str(p["label"]) for p in predictions]
            tensors.append({"name": "predict", "datatype": "BYTES", "shape": [n], "data": labels})
        else:
            classes = list(predictions[0]["probabilities"])
            data = [p["probabilities"][c] for p in predictions for c in classes]
            tensors.append(
                {
                    "name": "predict_proba",
                    "datatype": "FP64",
                    "shape": [n, len(classes)],
                    "data": data,
                    "parameters": {"classes": classes},
                }
            )
    return tensors


def to_binary(tensor: dict[str, Any]) -> bytes:
    """Move a tensor's data to bytes (binary tensor extension); returns the bytes."""
    data = tensor.pop("data")
    if tensor["datatype"] == "BYTES":
        raw = b"".join(
            struct.pack("<I", len(encoded)) + encoded for encoded in (s.encode() for s in data)
        )
    else:
        raw = np.asarray(data, dtype="<f8").tobytes()
    tensor.setdefault("parameters", {})["binary_data_size"] = len(raw)
    return raw
