"""Bring models from MLflow: a model directory (or a zip of one), or a whole tracking server.

MLflow 3 saves a scikit-learn model in the skops format by default, beside an ``MLmodel`` file
(YAML) that holds its signature (named, typed input columns), where its input example lies and
the run that made it. That is everything a version needs here, so an MLflow model registers as
is, through :func:`registry.catalog.services.model_version_register` like any other upload: one
validation path, one allow-list. MLflow itself is never imported: ``MLmodel`` is read with
PyYAML and a tracking server through its REST API with the standard library.

A pickled (pickle or cloudpickle) MLflow model is refused before its file is even fetched, with
the one line that re-saves it as skops.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.client
import json
import math
import os
import posixpath
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import sklearn
import yaml
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from registry.artifacts.archives import ZipLimits, zip_member_read, zip_open_checked
from registry.artifacts.store import estimator_from_bytes
from registry.catalog.services import (
    alias_set,
    model_tags_add,
    model_version_register,
    reference_read,
)
from registry.interface import infer_input, infer_output, interface_infer
from registry.kinds import native_prepare
from registry.kinds.detect import LIGHTGBM, ONNX, XGBOOST_JSON, XGBOOST_UBJSON, kind_of
from registry.known import interface_enrich, interface_from_model
from registry.models import ModelVersion, RegisteredModel

FIELD = "mlflow_model"
# MLflow column types and the interface type each becomes (a string becomes a category when
# the data shows few enough distinct values, text otherwise).
COLUMN_TYPES = {
    "double": "number",
    "float": "number",
    "long": "integer",
    "integer": "integer",
    "boolean": "boolean",
    "string": "category",
    "datetime": "date",
}

# MLmodel and the input example are small in any real model; larger ones are refused unread
# (a zip member by its declared size, before it is inflated).
MAX_MLMODEL_BYTES = 1024 * 1024
MAX_EXAMPLE_BYTES = 16 * 1024 * 1024
# MLmodel nests four levels deep; YAML or JSON nested far deeper is refused before the
# recursive parsers reach Python's recursion limit.
MAX_NESTING = 32
# Ids, versions and times named in MLmodel are short; a longer one is not MLflow's.
MAX_TEXT_CHARS = 200
# What an error message repeats of a value taken from the file.
SHOWN_CHARS = 60
# An integer in the input example must fit the 64-bit integers pandas and NumPy compute with.
_INT64 = (-(2**63), 2**63 - 1)

# Reads one file of a model directory by its relative path, refusing it unread when it is
# larger than the given number of bytes; None when there is no such file.
Reader = Callable[[str, int], bytes | None]


def _refuse(message: str) -> ValidationError:
    return ValidationError({FIELD: [message]})


def _echo(value: Any) -> str:
    """A value from the file as a message repeats it: a scalar's repr cut short, a container
    only by its kind (formatting one would expand what YAML or JSON shares)."""
    if isinstance(value, str):
        return repr(value[:SHOWN_CHARS]) + "…" * (len(value) > SHOWN_CHARS)
    if value is None or isinstance(value, bool | int | float):
        if isinstance(value, int) and value.bit_length() > 200:
            return f"an integer of {value.bit_length()} bits"
        text = repr(value)
        return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"
    return f"a {type(value).__name__}"


def _relative(path: Any, what: str) -> str:
    """A path named inside MLmodel, refused unless it stays inside the model directory."""
    if not isinstance(path, str) or not path:
        raise _refuse(f"MLmodel names no {what}.")
    clean = posixpath.normpath(path.replace("\\", "/"))
    if clean.startswith(("/", "..")) or ":" in clean.split("/")[0]:
        raise _refuse(f"MLmodel names {what} {_echo(path)}, outside the model directory.")
    return clean


class _MlmodelLoader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors and aliases, and with a bound on nesting.

    MLflow writes neither anchors nor aliases. An alias lets a few hundred bytes stand for a
    structure of billions of elements that ``safe_load`` keeps shared, until something
    formats or walks it (a 583-byte MLmodel once became a 241 MB error message).
    """

    def __init__(self, stream: Any):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None,
                None,
                "it uses a YAML anchor or alias (&name, *name), which MLflow never writes",
                event.start_mark,
            )
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise yaml.composer.ComposerError(
                    None, None, f"it nests deeper than {MAX_NESTING} levels", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _mlmodel_load(raw: bytes) -> dict[str, Any]:
    try:
        mlmodel = yaml.load(raw, Loader=_MlmodelLoader)  # a SafeLoader, narrowed
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _refuse(f"MLmodel is not readable YAML{where}: {problem[:200]}.") from None
    if not isinstance(mlmodel, dict) or not isinstance(mlmodel.get("flavors"), Mapping):
        raise _refuse("MLmodel has no flavors: this is not an MLflow model directory.")
    if not all(isinstance(name, str) for name in mlmodel["flavors"]):
        raise _refuse("MLmodel names a flavor by something other than text.")
    return mlmodel


def _text(mapping: Mapping[str, Any], key: str, where: str = "MLmodel") -> str:
    """A short scalar of MLmodel (an id, a version, a time) as text; "" when absent."""
    value = mapping.get(key)
    if value is None or value == "":
        return ""
    if not isinstance(value, str | int | float | dt.date) or isinstance(value, bool):
        raise _refuse(f"{where}'s {key} is {_echo(value)}, not text.")
    text = str(value)
    if len(text) > MAX_TEXT_CHARS:
        raise _refuse(f"{where}'s {key} is longer than {MAX_TEXT_CHARS} characters.")
    return text


def _json(raw: str | bytes, what: str) -> Any:
    """JSON from the model directory, nested no deeper than MLflow nests it."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise _refuse(f"{what} nests deeper than can be read.") from None
    except (TypeError, ValueError) as exc:
        raise _refuse(f"{what} is not readable JSON: {str(exc)[:200]}") from None


# ---------------------------------------------------------------- reading a model directory
@dataclass
class MlflowModel:
    """What the portal takes from an MLflow model directory (every field checked)."""

    ids: dict[str, str]  # run_id, model_id, mlflow_version, sklearn_version, saved_at
    artifact: bytes
    columns: list[dict[str, Any]] | None  # the signature's input columns, when it has them
    output_name: str | None
    example: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return self.ids.get("run_id", "")

    def origin(self) -> dict[str, Any]:
        """Lineage that MLmodel itself holds."""
        found = {"registry": "mlflow", **self.ids, "signature": self.columns is not None}
        return {k: v for k, v in found.items() if v not in ("", None)}


def resave_hint(uri: str) -> str:
    """The one line that re-saves a pickled MLflow model as skops, keeping its signature."""
    if uri.startswith("models:/"):
        name = uri.removeprefix("models:/").rsplit("/", 1)[0]
        return (
            f'mlflow.sklearn.log_model(mlflow.sklearn.load_model("{uri}"), name="model", '
            f'serialization_format="skops", registered_model_name="{name}", '
            f'signature=mlflow.models.get_model_info("{uri}").signature)'
        )
    return (
        f'mlflow.sklearn.save_model(mlflow.sklearn.load_model("{uri}"), "{uri}-skops", '
        f'serialization_format="skops", signature=mlflow.models.get_model_info("{uri}").signature)'
    )


def _signature_columns(
    mlmodel: Mapping[str, Any],
) -> tuple[list[dict[str, Any]] | None, str | None]:
    signature = mlmodel.get("signature")
    if not isinstance(signature, Mapping) or not signature.get("inputs"):
        return None, None
    inputs = _json(signature["inputs"], "The MLmodel signature")
    outputs = (
        _json(signature["outputs"], "The MLmodel signature") if signature.get("outputs") else []
    )
    if not isinstance(inputs, list) or not all(isinstance(c, Mapping) for c in inputs):
        raise _refuse("The MLmodel signature's inputs are not a list of columns.")
    if any(c.get("type") == "tensor" for c in inputs):
        raise _refuse(
            "The MLflow signature describes tensors, not named columns. Log the model with a "
            "pandas DataFrame as input_example so its signature names each input."
        )
    columns = []
    for position, column in enumerate(inputs):
        name, kind = column.get("name"), column.get("type")
        if not isinstance(name, str) or not name:
            raise _refuse(f"Signature input {position} has no name; the portal needs names.")
        if not isinstance(kind, str) or kind not in COLUMN_TYPES:
            raise _refuse(
                f"Signature input {_echo(name)} has MLflow type {_echo(kind)}; the portal takes "
                f"{', '.join(COLUMN_TYPES)} columns."
            )
        columns.append({"name": name, "type": kind, "required": column.get("required", True)})
    names = [c["name"] for c in columns]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise _refuse(f"The MLmodel signature names the input {_echo(twice)} twice.")
    output_name = None
    if isinstance(outputs, list) and len(outputs) == 1 and isinstance(outputs[0], Mapping):
        found = outputs[0].get("name")
        output_name = found if isinstance(found, str) and found else None
    return columns, output_name


def _example_cell(value: Any, row: int, column: str) -> Any:
    """One cell of the input example, refused unless it is a single value pandas can hold."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not _INT64[0] <= value <= _INT64[1]:
            raise _refuse(
                f"Row {row + 1} of the input example: {column} is an integer of "
                f"{len(str(abs(value)))} digits, beyond 64 bits."
            )
    elif not (value is None or isinstance(value, str | float | bool)):
        raise _refuse(
            f"Row {row + 1} of the input example: {column} is {_echo(value)}, not a single value."
        )
    return value


def _example_table(payload: Any, orient: str) -> pd.DataFrame:
    """The example's JSON (pandas' split or records orient) as a frame, every cell checked."""
    if orient == "split":
        if not isinstance(payload, Mapping):
            raise _refuse("The input example is not a table of columns and rows.")
        columns, rows = payload.get("columns"), payload.get("data")
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise _refuse("The input example's columns are not a list of names.")
        if len(set(columns)) != len(columns):
            twice = next(c for c in columns if columns.count(c) > 1)
            raise _refuse(f"The input example has the column {_echo(twice)} twice.")
        if not isinstance(rows, list) or not all(
            isinstance(r, list) and len(r) == len(columns) for r in rows
        ):
            raise _refuse(f"The input example's rows are not lists of {len(columns)} values.")
        shown = [_echo(c) for c in columns]
        data = [
            [_example_cell(v, i, shown[j]) for j, v in enumerate(r)] for i, r in enumerate(rows)
        ]
        return pd.DataFrame(data, columns=columns)
    if orient == "records":
        if not isinstance(payload, list) or not all(
            isinstance(r, Mapping) and all(isinstance(k, str) for k in r) for r in payload
        ):
            raise _refuse("The input example's records are not objects of named values.")
        for i, record in enumerate(payload):
            for key, value in record.items():
                _example_cell(value, i, _echo(key))
        return pd.DataFrame.from_records(payload)
    raise _refuse(f"The input example is in the pandas orient {_echo(orient)}; split or records.")


def _example_frame(mlmodel: Mapping[str, Any], read: Reader) -> tuple[pd.DataFrame | None, str]:
    info = mlmodel.get("saved_input_example_info")
    if not isinstance(info, Mapping):
        return None, ""
    kind = info.get("type")
    if kind != "dataframe":
        return None, f"The input example ({_echo(kind)}) is not a table and was not used."
    raw = read(_relative(info.get("artifact_path"), "an input example"), MAX_EXAMPLE_BYTES)
    if raw is None:
        return None, "MLmodel names an input example that is not in the directory."
    payload = _json(raw, "The input example")
    frame = _example_table(payload, info.get("pandas_orient", "split"))
    if frame.empty:
        return None, "The input example has no rows and was not used."
    return frame, ""


def mlflow_model_read(*, read: Reader, uri: str) -> MlflowModel:
    """Read an MLflow model directory through ``read``, refusing what the portal cannot take.

    Only the sklearn flavor saved as skops is taken: a pickled model is refused with the line
    that re-saves it (``uri`` names the model in that line) and its file is never read. Every
    value taken from MLmodel is checked for its type before anything formats it.
    """
    raw = read("MLmodel", MAX_MLMODEL_BYTES)
    if raw is None:
        raise _refuse("There is no MLmodel file: this is not an MLflow model directory.")
    mlmodel = _mlmodel_load(raw)
    sk = mlmodel["flavors"].get("sklearn")
    if not isinstance(sk, Mapping):
        native = next((f for f in NATIVE_FLAVORS if f in mlmodel["flavors"]), None)
        if native is not None:
            return _native_model_read(mlmodel, native, read)
        found = [f for f in mlmodel["flavors"] if f != "python_function"]
        flavors = ", ".join(f[:SHOWN_CHARS] for f in found[:5]) or "none"
        raise _refuse(
            f"This MLflow model has the flavor {flavors}; the portal takes the sklearn "
            "flavor saved as skops, and the xgboost, lightgbm and onnx flavors."
        )
    fmt = _text(sk, "serialization_format", "The sklearn flavor")
    if fmt != "skops":
        raise _refuse(
            f"MLflow saved this model with {fmt[:SHOWN_CHARS] or 'pickle'}, "
            "which runs code when it is loaded, so the portal did not read it. Re-save it as "
            "skops where it was trained: " + resave_hint(uri)
        )
    ids = {
        "run_id": _text(mlmodel, "run_id"),
        "model_id": _text(mlmodel, "model_id") or _text(mlmodel, "model_uuid"),
        "mlflow_version": _text(mlmodel, "mlflow_version"),
        "sklearn_version": _text(sk, "sklearn_version", "The sklearn flavor"),
        "saved_at": _text(mlmodel, "utc_time_created"),
    }
    artifact = read(_relative(sk.get("pickled_model"), "a model file"), _file_limit())
    if artifact is None:
        raise _refuse(
            f"MLmodel names the model file {_echo(sk['pickled_model'])}, which is missing."
        )
    columns, output_name = _signature_columns(mlmodel)
    example, example_note = _example_frame(mlmodel, read)
    notes = [example_note] if example_note else []
    saved_with = ids["sklearn_version"]
    if saved_with and saved_with != sklearn.__version__:
        notes.append(
            f"Saved with scikit-learn {saved_with}; the portal runs {sklearn.__version__}."
        )
    return MlflowModel(
        ids=ids,
        artifact=artifact,
        columns=columns,
        output_name=output_name,
        example=example,
        notes=notes,
    )


# MLflow flavors whose file is a native model the portal reads itself (registry/kinds): the
# file's kind, found by its content, must be the flavor's.
NATIVE_FLAVORS = {
    "xgboost": (XGBOOST_JSON, XGBOOST_UBJSON),
    "lightgbm": (LIGHTGBM,),
    "onnx": (ONNX,),
}
_FLAVOR_VERSION = {"xgboost": "xgb_version", "lightgbm": "lgb_version", "onnx": "onnx_version"}


def _native_model_read(mlmodel: Mapping[str, Any], flavor: str, read: Reader) -> MlflowModel:
    """An MLflow xgboost, lightgbm or onnx model: its native file, which registration checks
    before the library reads it (registry/kinds), like any uploaded booster or graph.

    Refused unread: XGBoost's legacy binary format (no checker reads it) and a LightGBM or
    XGBoost model MLflow saved as a scikit-learn estimator in skops or pickle (the booster
    inside would reach the library's own parser unchecked)."""
    conf = mlmodel["flavors"][flavor]
    if not isinstance(conf, Mapping):
        raise _refuse(f"MLmodel's {flavor} flavor is not a mapping.")
    where = f"The {flavor} flavor"
    if flavor == "xgboost":
        fmt = _text(conf, "model_format", where) or "xgb"
        if fmt not in ("json", "ubj"):
            raise _refuse(
                f"MLflow saved this XGBoost model in the {_echo(fmt)} format, which the portal "
                "does not read; save it with mlflow.xgboost.log_model(..., model_format='json')."
            )
    if flavor == "lightgbm" and _text(conf, "model_class", where) not in ("", BOOSTER_CLASS):
        raise _refuse(
            f"MLflow saved this LightGBM model as a {_echo(conf['model_class'])}, whose booster "
            "LightGBM's own parser would read unchecked; log the booster itself: "
            "mlflow.lightgbm.log_model(model.booster_, ...)."
        )
    path = _relative(conf.get("data"), "a model file")
    artifact = read(path, _file_limit())
    if artifact is None:
        raise _refuse(f"MLmodel names the model file {_echo(conf.get('data'))}, which is missing.")
    if kind_of(artifact) not in NATIVE_FLAVORS[flavor]:
        raise _refuse(
            f"The {flavor} flavor's file {_echo(path)} is not a {flavor} model file; the portal "
            "never loads pickles."
        )
    ids = {
        "run_id": _text(mlmodel, "run_id"),
        "model_id": _text(mlmodel, "model_id") or _text(mlmodel, "model_uuid"),
        "mlflow_version": _text(mlmodel, "mlflow_version"),
        "flavor": flavor,
        _FLAVOR_VERSION[flavor]: _text(conf, _FLAVOR_VERSION[flavor], where),
        "saved_at": _text(mlmodel, "utc_time_created"),
    }
    notes = []
    try:
        columns, output_name = _signature_columns(mlmodel)
    except ValidationError:
        if flavor != "onnx":
            raise
        # An ONNX graph takes a tensor: its columns come from the reference data.
        columns, output_name = None, None
        notes.append("The signature describes a tensor: the inputs are the reference data's.")
    example, example_note = _example_frame(mlmodel, read)
    notes += [example_note] if example_note else []
    return MlflowModel(ids, artifact, columns, output_name, example, notes)


BOOSTER_CLASS = "lightgbm.basic.Booster"


def _file_limit() -> int:
    return settings.PORTAL["MAX_ARTIFACT_BYTES"]


def directory_reader(root: Path) -> Reader:
    """Read files of a model directory on disk, never outside it (symbolic links included)."""
    base = root.resolve()
    if not base.is_dir():
        raise _refuse(f"{root} is not a directory.")

    def read(name: str, max_bytes: int) -> bytes | None:
        path = (base / name).resolve()
        if not path.is_relative_to(base):
            raise _refuse(f"{_echo(name)} points outside the model directory.")
        if not path.is_file():
            return None
        if path.stat().st_size > max_bytes:
            raise _refuse(f"{name} is larger than {max_bytes:,} bytes.")
        return path.read_bytes()

    return read


def zip_reader(data: bytes | BinaryIO) -> tuple[Reader, str]:
    """Read files of a zipped model directory (at the top or in one folder) in memory.

    ``data`` is the zip's bytes or a seekable file (an upload, read in place). Returns the
    reader and the folder's name (``model`` when the files are at the top). The archive's
    directory is checked first and each member by its declared size before it is inflated
    (registry/archives.py, as for a skops file).
    """
    limit = _file_limit()
    archive = zip_open_checked(
        data=data, field=FIELD, limits=ZipLimits(max_entries=1_000, max_bytes=2 * limit)
    )
    tops = sorted(
        n.removesuffix("MLmodel")
        for n in archive.namelist()
        if n == "MLmodel" or (n.endswith("/MLmodel") and n.count("/") == 1)
    )
    if not tops:
        raise _refuse("The zip has no MLmodel file at its top or in one folder at its top.")
    if len(tops) > 1:
        raise _refuse("The zip holds more than one MLflow model; send one model directory.")
    prefix = tops[0]

    def read(name: str, max_bytes: int) -> bytes | None:
        return zip_member_read(
            archive=archive, name=prefix + name, field=FIELD, max_bytes=max_bytes, label=name
        )

    return read, prefix.rstrip("/") or "model"


# ---------------------------------------------------------------- signature -> interface
def _typed(column: pd.Series, kind: str, name: str, where: str) -> pd.Series:
    """A data column as the MLflow type says, or a refusal naming the column."""
    try:
        if kind in ("double", "float"):
            return pd.to_numeric(column, errors="raise").astype("float64")
        if kind in ("long", "integer"):
            numbers = pd.to_numeric(column, errors="raise")
            present = numbers.dropna()
            if not (present == present.round()).all():
                raise ValueError("not whole numbers")
            return numbers.astype("Int64")
        if kind == "boolean":
            if pd.api.types.is_bool_dtype(column):
                return column
            lowered = column.astype(str).str.strip().str.lower()
            mapping = {"true": True, "1": True, "false": False, "0": False}
            if not lowered[column.notna()].isin(mapping).all():
                raise ValueError("not true or false")
            return lowered.map(mapping).where(column.notna()).astype("boolean")
        if kind == "datetime":
            return pd.to_datetime(column, errors="raise")
        return column.astype(object).where(column.isna(), column.astype(str))
    except (ValueError, TypeError, OverflowError) as exc:
        field_name = "reference_data" if where == "reference data" else FIELD
        raise ValidationError(
            {
                field_name: [
                    f"Column {_echo(name)} of the {where} is not {kind} as the signature "
                    f"says: {str(exc)[:200]}"
                ]
            }
        ) from None


def _default(value: Any, spec: Mapping[str, Any]) -> Any:
    """The example's value as the form's default for one input, or None when it cannot be."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    kind = spec["type"]
    try:
        if kind == "number":
            return float(value)
        if kind == "integer":
            return int(value)
        if kind == "boolean":
            return bool(value) if not isinstance(value, str) else value.lower() == "true"
        if kind == "date":
            return pd.Timestamp(value).date().isoformat()
    except (TypeError, ValueError, OverflowError):
        return None
    text = str(value)
    return text if kind == "text" or text in spec.get("choices", []) else None


def mlflow_interface(
    *,
    model: MlflowModel,
    estimator: Any,
    reference: pd.DataFrame | None,
    target: str | None,
) -> tuple[dict[str, Any], str]:
    """The interface an MLflow model declares, and a note saying where its ranges came from.

    The signature gives the inputs, their order, types and whether each is required; ranges
    and categories come from the reference data when given, else from the input example; the
    example's first row gives the defaults.
    """
    data, source = (reference, "reference data") if reference is not None else (model.example, "")
    if data is not None and not source:
        source = "input example"
    if data is None:
        # Without rows, only the model can give choices, ranges and defaults.
        try:
            built, notes = interface_from_model(estimator, target=target or model.output_name)
        except ValidationError:
            raise _refuse(
                "This MLflow model has no input example: give reference data (a CSV of inputs) "
                "for the form's choices, ranges and defaults."
            ) from None
        return built.to_dict(), " ".join(notes)
    if model.columns is None:
        spec = interface_infer(estimator=estimator, reference=data, target=target).to_dict()
        note = f"No MLflow signature: inputs, ranges and categories inferred from the {source}"
    else:
        inputs = []
        for column in model.columns:
            name, kind = column["name"], column["type"]
            if name in data.columns and data[name].notna().any():
                spec_in = infer_input(name, _typed(data[name], kind, name, source))
                mapped = COLUMN_TYPES[kind]
                if mapped != "category" or spec_in["type"] not in ("category", "text"):
                    spec_in["type"] = mapped
            else:
                # No values to learn choices from: a string is free text.
                spec_in = {"name": name, "type": "text" if kind == "string" else COLUMN_TYPES[kind]}
            spec_in["required"] = bool(column["required"])
            inputs.append(spec_in)
        output = infer_output(estimator, target=target or model.output_name)
        spec = {"inputs": inputs, "output": output}
        note = f"Inputs from the MLflow signature; ranges and categories from the {source}"
    # Every category the model was trained on, not only those a few example rows show.
    spec, known_notes = interface_enrich(spec, estimator)
    note += f" ({len(data)} row{'s' * (len(data) != 1)})"
    if source == "input example":
        note += "; give reference data for the full ranges and every category"
    if model.example is not None:
        first = model.example.iloc[0].to_dict()
        for spec_in in spec["inputs"]:
            if spec_in["name"] in first:
                value = _default(first[spec_in["name"]], spec_in)
                if value is not None:
                    spec_in["default"] = value
        note += ". Defaults from the input example's first row."
    else:
        note += "."
    return spec, " ".join([note, *known_notes])


# ---------------------------------------------------------------- registering one model
def mlflow_model_register(
    *,
    name: str,
    model: MlflowModel,
    source: str,
    reference: bytes | None = None,
    target: str | None = None,
    interface: Mapping[str, Any] | None = None,
    alias: str | None = None,
    title: str = "",
    description: str = "",
    tags: Sequence[str] = (),
    notes: str = "",
    origin: Mapping[str, Any] | None = None,
    allow_breaking: bool = False,
    user: User | None = None,
) -> ModelVersion:
    """Register an MLflow model (read by :func:`mlflow_model_read`) as the next version.

    The interface comes from the signature (see :func:`mlflow_interface`) unless ``interface``
    is given; the run id and MLmodel's ids go to the version's ``origin``, with ``origin``
    added; the rest is :func:`registry.catalog.services.model_version_register`.
    """
    frame = reference_read(data=reference) if reference is not None else None
    how = ""
    if interface is None:
        # A native booster knows class indices only: its labels come from the reference
        # data's target (refused, saying so, without one); an ONNX graph has its own.
        estimator, _ = native_prepare(
            estimator_from_bytes(model.artifact), frame=frame, target=target, interface=None
        )
        interface, how = mlflow_interface(
            model=model, estimator=estimator, reference=frame, target=target
        )
        # Registration loads the file again: two copies of a large model at once would
        # double the worker's peak (bench/mlflow_upload_memory.py).
        del estimator
    found = model.origin()
    found["interface_from"] = (
        "explicit" if not how else "reference_data" if frame is not None else "input_example"
    )
    return model_version_register(
        name=name,
        artifact=model.artifact,
        reference=reference,
        target=target,
        interface=interface,
        alias=alias,
        title=title,
        description=description,
        tags=tags,
        source=source[:500],
        notes="\n".join(filter(None, [notes, how, *model.notes])),
        origin={**found, **(origin or {})},
        allow_breaking=allow_breaking,
        user=user,
    )


# ---------------------------------------------------------------- a tracking server
# What one import may take from a tracking server: a JSON answer (one page of a search), the
# pages of one search and their bytes together, and redirects followed per request. A real
# server's page of 200 versions is well under 1 MB; a search that goes on past these is a
# server that never stops (5,109 pages, 3.39 GB in 30 s, from one that always had a next page).
MAX_ANSWER_BYTES = 16 * 1024 * 1024
MAX_PAGES = 1_000
MAX_SEARCH_BYTES = 64 * 1024 * 1024
MAX_REDIRECTS = 5
# The time one request may take in all, connection to last byte. The socket timeout bounds
# each read only: a server sending a byte every few seconds never trips it.
REQUEST_SECONDS = 120.0


class TrackingError(Exception):
    """The tracking server cannot be reached or answered something unusable."""


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


class _Deadline:
    """Ends one request when its time is up, wherever it waits (connect, headers, body).

    Each socket the request opens is shut down at the deadline, from a timer thread; the read
    that was waiting then ends and the caller sees :attr:`expired`.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def _cut(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        # The plain socket's shutdown, also for TLS: it ends a read waiting in another thread.
        with contextlib.suppress(OSError):  # already closed
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watched(base: type[http.client.HTTPConnection], deadline: _Deadline) -> type:
    class Connection(base):  # type: ignore[misc, valid-type]
        def connect(self) -> None:
            super().connect()
            deadline.watch(self.sock)

    return Connection


class _HttpHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline):
        super().__init__()
        self.deadline = deadline

    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_watched(http.client.HTTPConnection, self.deadline), req)


class _HttpsHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline):
        super().__init__()
        self.deadline = deadline

    def https_open(self, req: urllib.request.Request) -> Any:
        connection = _watched(http.client.HTTPSConnection, self.deadline)
        return self.do_open(connection, req, context=self._context)


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows a few redirects; credentials go only where the request was sent.

    urllib copies every header to the new address, Authorization included: a tracking
    server (or anyone who can make it redirect) would receive the token for another host.
    """

    max_redirections = MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise TrackingError(f"MLflow redirected to {newurl[:200]}, which is not http(s).")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(req.full_url):
            new.remove_header("Authorization")
        return new


class TrackingClient:
    """The few calls of MLflow's REST API the import needs, with the standard library.

    Credentials come from MLflow's own variables: ``MLFLOW_TRACKING_TOKEN`` (bearer), or
    ``MLFLOW_TRACKING_USERNAME`` and ``MLFLOW_TRACKING_PASSWORD`` (basic); they are sent to
    the tracking server's own address only, never after a redirect to another. Each request
    ends within ``deadline`` seconds, each answer and each search is bounded in size.
    """

    def __init__(self, uri: str, *, timeout: float = 30.0, deadline: float = REQUEST_SECONDS):
        try:
            parsed = urllib.parse.urlsplit(uri)
        except ValueError:
            parsed = urllib.parse.SplitResult("", "", "", "", "")
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise TrackingError(
                "--tracking-uri must be the http(s) address of an MLflow tracking server, "
                f"such as http://127.0.0.1:5000 (got {uri[:200]!r})."
            )
        self.base = uri.rstrip("/")
        self.timeout = min(timeout, deadline)
        self.deadline = deadline
        self.headers = {"Accept": "application/json", "User-Agent": "model-portal-import"}
        token = os.environ.get("MLFLOW_TRACKING_TOKEN")
        user, password = (
            os.environ.get("MLFLOW_TRACKING_USERNAME"),
            os.environ.get("MLFLOW_TRACKING_PASSWORD"),
        )
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif user and password:
            pair = base64.b64encode(f"{user}:{password}".encode()).decode()
            self.headers["Authorization"] = f"Basic {pair}"

    def _fetch(self, path: str, params: Mapping[str, Any], limit: int) -> tuple[int, bytes]:
        """The status and at most ``limit + 1`` bytes of the answer to one GET."""
        url = f"{self.base}/{path}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(url, headers=self.headers)
        with _Deadline(self.deadline) as deadline:
            opener = urllib.request.build_opener(
                _HttpHandler(deadline), _HttpsHandler(deadline), _Redirects()
            )
            try:
                try:
                    response = opener.open(request, timeout=self.timeout)
                except urllib.error.HTTPError as exc:
                    response = exc  # an HTTPError is also the response
                with response:
                    status, body = response.status, response.read(limit + 1)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                if not deadline.expired:
                    reason = getattr(exc, "reason", exc)
                    raise TrackingError(
                        f"Cannot reach the MLflow tracking server at {self.base}: {reason}. "
                        "Check --tracking-uri and that the server is running."
                    ) from None
        if deadline.expired:  # also a body cut short: it is not the answer
            raise TrackingError(
                f"The MLflow tracking server at {self.base} did not answer {path} "
                f"within {self.deadline:.0f} s."
            )
        return status, body

    def _message(self, body: bytes, status: int) -> str:
        try:
            return str(json.loads(body)["message"])[:500]
        except (ValueError, KeyError, TypeError, RecursionError):
            # Not MLflow's JSON error: most likely not an MLflow server at all.
            return f"HTTP {status}; is {self.base} an MLflow tracking server?"

    def _answer(self, endpoint: str, params: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
        status, body = self._fetch(f"api/2.0/mlflow/{endpoint}", params, MAX_ANSWER_BYTES)
        if len(body) > MAX_ANSWER_BYTES:
            raise TrackingError(
                f"MLflow's answer to {endpoint} is larger than {MAX_ANSWER_BYTES:,} bytes."
            )
        if status != 200:
            raise TrackingError(f"MLflow answered {endpoint}: {self._message(body, status)}")
        try:
            answer = json.loads(body)
        except (ValueError, RecursionError):
            answer = None
        if not isinstance(answer, dict):
            raise TrackingError(
                f"{self.base} did not answer as an MLflow tracking server (for {endpoint})."
            )
        return answer, len(body)

    def get(self, endpoint: str, **params: Any) -> dict[str, Any]:
        """GET ``/api/2.0/mlflow/<endpoint>`` as JSON; TrackingError with MLflow's message."""
        return self._answer(endpoint, params)[0]

    def pages(self, endpoint: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated search, within MAX_PAGES pages and MAX_SEARCH_BYTES."""
        token, seen, total = None, set(), 0
        for _ in range(MAX_PAGES):
            page = {**params, "page_token": token} if token else params
            answer, size = self._answer(endpoint, page)
            total += size
            if total > MAX_SEARCH_BYTES:
                raise TrackingError(
                    f"MLflow's answers to {endpoint} add up to more than {MAX_SEARCH_BYTES:,} "
                    "bytes; import fewer models at once (--model NAME)."
                )
            items = answer.get(key, [])
            if not isinstance(items, list):
                raise TrackingError(f"MLflow's {endpoint} answered {key} that is not a list.")
            yield from items
            token = answer.get("next_page_token")
            if not token:
                return
            if not isinstance(token, str) or token in seen:
                raise TrackingError(f"MLflow's {endpoint} gave a page token it gave before.")
            seen.add(token)
        raise TrackingError(
            f"MLflow's {endpoint} went on past {MAX_PAGES:,} pages; import fewer models at once "
            "(--model NAME)."
        )

    def artifact(self, *, name: str, version: str, path: str, max_bytes: int) -> bytes | None:
        """One file of a model version, through the server (whatever stores its artifacts)."""
        params = {"name": name, "version": version, "path": path}
        status, body = self._fetch("model-versions/get-artifact", params, max_bytes)
        if status == 404:
            return None
        if status != 200:
            raise TrackingError(f"MLflow refused the file {path}: {self._message(body, status)}")
        if len(body) > max_bytes:
            raise _refuse(f"{path} is larger than {max_bytes:,} bytes.")
        return body

    def link(self, *, name: str, version: str) -> str:
        """The version's page in MLflow's own UI."""
        return f"{self.base}/#/models/{urllib.parse.quote(name, safe='')}/versions/{version}"


@dataclass
class ImportReport:
    """What one import did, line by line, and what it skipped and why."""

    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    @property
    def nothing(self) -> bool:
        return not (self.imported or self.changes)


def _reason(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(" ".join(m) for m in exc.message_dict.values())
    return " ".join(exc.messages)


def _tag_slugs(tags: Mapping[str, str]) -> list[str]:
    """MLflow's key/value tags as the portal's tag names: ``team=pricing`` is team-pricing."""
    slugs = []
    for key, value in tags.items():
        if key.startswith("mlflow."):  # MLflow's own bookkeeping
            continue
        slug = slugify(key if value in ("", "true", "True") else f"{key}-{value}")[:50]
        if slug:
            slugs.append(slug.strip("-"))
    return slugs


def _pairs(items: Any, key: str = "key", value: str = "value") -> dict[str, Any]:
    return {i[key]: i.get(value) for i in items or [] if isinstance(i, Mapping) and key in i}


def mlflow_import(
    *,
    tracking_uri: str,
    names: Sequence[str] = (),
    user: User | None = None,
    as_name: str | None = None,
    allow_breaking: bool = False,
    deadline: float = REQUEST_SECONDS,
) -> ImportReport:
    """Import every registered model (or those named) of an MLflow tracking server.

    Each MLflow model goes to the portal model of its name slugified (``Breast Cancer`` is
    ``breast-cancer``), or ``as_name`` when one model is named. A portal model is only ever
    continued by the MLflow model it came from (its first version's ``origin``: this server,
    this name); any other model of that name is left alone and the MLflow model skipped,
    saying to import it under another name. Each MLflow version not imported yet becomes the
    next version here, in MLflow's order, with its run's metrics and params, its tags and
    description and a link back to MLflow in ``origin``; the model's aliases point where
    MLflow's do (a move is audited). A version whose interface breaks the previous one's is
    skipped, with later ones, unless ``allow_breaking``. A version that cannot be imported
    is skipped with the reason; each is registered in one transaction, so none is
    half-imported. Run again, it imports only what is new. Raises :class:`TrackingError`
    when the server cannot be reached, and ValueError for ``as_name`` without exactly one name.
    """
    if as_name is not None and (len(names) != 1 or slugify(as_name)[:100] != as_name):
        raise ValueError("--as takes one portal model name (a slug) and exactly one --model.")
    client = TrackingClient(tracking_uri, deadline=deadline)
    try:
        if names:
            models = [
                client.get("registered-models/get", name=n)["registered_model"] for n in names
            ]
        else:
            models = list(
                client.pages("registered-models/search", "registered_models", max_results=100)
            )
        names_found = [str(m["name"])[:200] for m in models]
    except (KeyError, TypeError) as exc:
        raise TrackingError(
            f"{client.base} answered something that is not MLflow's: {exc!r:.200}."
        ) from None
    report = ImportReport()
    for registered, name in zip(models, names_found, strict=True):
        try:
            _import_model(
                client=client,
                registered=registered,
                name=as_name or slugify(name)[:100],
                user=user,
                allow_breaking=allow_breaking,
                report=report,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A server answering in a shape MLflow never does: say so, keep the other models.
            report.skipped.append(f"{name}: MLflow's answer was not understood ({exc!r:.200}).")
    return report


def _from_this_model(origin: Mapping[str, Any], *, client: TrackingClient, source: str) -> bool:
    return (
        origin.get("registry") == "mlflow"
        and origin.get("tracking_uri") == client.base
        and origin.get("name") == source
        and "version" in origin
    )


def _version_number(found: Any) -> int | None:
    """An MLflow version's number, or None when the answer's is not a positive whole number."""
    number = found.get("version") if isinstance(found, Mapping) else None
    text = str(number) if isinstance(number, str | int) else ""
    return int(text) if text.isdigit() and 0 < len(text) < 10 and int(text) > 0 else None


def _import_model(
    *,
    client: TrackingClient,
    registered: Mapping[str, Any],
    name: str,
    user: User | None,
    allow_breaking: bool,
    report: ImportReport,
) -> None:
    source_name = registered["name"]
    if not isinstance(source_name, str):
        raise TypeError("a registered model's name is not text")
    if not name:
        report.skipped.append(f"{source_name}: the name has no letters or digits to use here.")
        return
    existing = RegisteredModel.objects.filter(name=name).first()
    have: dict[str, ModelVersion] = {}
    if existing is not None:
        first = existing.versions.order_by("number").first()
        if first is None or not _from_this_model(first.origin, client=client, source=source_name):
            # An unrelated model of the same name: importing would add versions to it, move
            # its aliases and break its callers.
            report.skipped.append(
                f"{source_name}: the portal's model '{name}' did not come from this MLflow "
                f"model, so nothing was imported into it. Import it under another name: "
                f"import_mlflow --model '{source_name}' --as {name}-mlflow"
            )
            return
        for version in existing.versions.all():
            if _from_this_model(version.origin, client=client, source=source_name):
                have[str(version.origin["version"])] = version
    quote = '"' if "'" in source_name else "'"
    versions = []
    for found in client.pages(
        "model-versions/search",
        "model_versions",
        filter=f"name={quote}{source_name}{quote}",
        max_results=200,
    ):
        number = _version_number(found)
        if number is None:
            shown = _echo(found.get("version")) if isinstance(found, Mapping) else _echo(found)
            report.skipped.append(f"{source_name} version {shown}: not a version number.")
        else:
            versions.append((number, found))
    versions.sort(key=lambda pair: pair[0])
    model_tags = _pairs(registered.get("tags"))
    tags = _tag_slugs(model_tags)
    title = source_name if source_name != name else ""
    description = registered.get("description")
    for number, found in versions:
        label = f"{source_name} version {number}"
        if str(number) in have:
            continue
        if found.get("status") == "PENDING_REGISTRATION":
            report.skipped.append(f"{label}: still being registered in MLflow; run again later.")
            break  # later versions wait, so versions keep MLflow's order
        if found.get("status") != "READY":
            report.skipped.append(f"{label}: MLflow's registration {_echo(found.get('status'))}.")
            continue
        try:
            version = _import_version(
                client=client,
                found=found,
                number=str(number),
                source_name=source_name,
                name=name,
                title=title,
                description=description if isinstance(description, str) else "",
                tags=tags,
                model_tags=model_tags,
                allow_breaking=allow_breaking,
                user=user,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "interface" in exc.error_dict:
                report.skipped.append(
                    f"{label}: {_reason(exc)} Later versions wait; run the import again with "
                    "--allow-breaking to accept the change."
                )
                break  # importing later ones would put them before this one here
            report.skipped.append(f"{label}: {_reason(exc)}")
            continue
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            report.skipped.append(f"{label}: MLflow's answer was not understood ({exc!r:.200}).")
            continue
        have[str(number)] = version
        breaking = f" (breaking: {' '.join(version.breaking_changes)})" * bool(
            version.breaking_changes
        )
        report.imported.append(f"{label} -> {name} version {version.number}{breaking}")
    model = RegisteredModel.objects.filter(name=name).first()
    if model is None:
        return
    added = model_tags_add(model=model, tags=tags)
    if added:
        report.changes.append(f"{name}: tags {', '.join(added)} added")
    for alias in registered.get("aliases") or []:
        alias_name, number = alias.get("alias"), str(alias.get("version"))
        target = have.get(number)
        if target is None:
            report.skipped.append(
                f"{source_name}@{_echo(alias_name)}: points at MLflow version {_echo(number)}, "
                "which was not imported."
            )
            continue
        current = model.aliases.filter(name=alias_name).select_related("version").first()
        if current is not None and current.version_id == target.pk:
            continue
        try:
            alias_set(
                model=model,
                name=alias_name,
                version=target,
                user=user,
                reason=f"MLflow import: {source_name}@{alias_name} is version {number} there",
            )
        except ValidationError as exc:
            report.skipped.append(f"{source_name}@{_echo(alias_name)}: {_reason(exc)}")
            continue
        before = f"version {current.version.number}" if current else "nothing"
        report.changes.append(
            f"{name}@{alias_name}: {before} -> version {target.number} (as in MLflow)"
        )


def _registered_at(value: Any) -> str:
    """MLflow's creation_timestamp (milliseconds) as an ISO time; "" when there is none."""
    if value in (None, ""):
        return ""
    try:
        return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        raise _refuse(f"MLflow's creation_timestamp {_echo(value)} is not a time.") from None


def _answer_text(found: Mapping[str, Any], key: str) -> str:
    value = found.get(key)
    return value if isinstance(value, str) else ""


def _import_version(
    *,
    client: TrackingClient,
    found: Mapping[str, Any],
    number: str,
    source_name: str,
    name: str,
    title: str,
    description: str,
    tags: Sequence[str],
    model_tags: Mapping[str, str],
    allow_breaking: bool,
    user: User | None,
) -> ModelVersion:
    uri = f"models:/{source_name}/{number}"
    registered_at = _registered_at(found.get("creation_timestamp"))

    def read(path: str, max_bytes: int) -> bytes | None:
        return client.artifact(name=source_name, version=number, path=path, max_bytes=max_bytes)

    model = mlflow_model_read(read=read, uri=uri)
    run: dict[str, Any] = {}
    run_id = _answer_text(found, "run_id")[:MAX_TEXT_CHARS] or model.run_id
    if run_id:
        try:
            got = client.get("runs/get", run_id=run_id)["run"]
        except TrackingError:
            got = None  # a deleted run leaves the model usable; its metrics are just unknown
        if got:
            data = got.get("data") or {}
            run = {
                "id": run_id,
                "name": (got.get("info") or {}).get("run_name", ""),
                "metrics": _pairs(data.get("metrics")),
                "params": _pairs(data.get("params")),
            }
    origin = {
        "tracking_uri": client.base,
        "name": source_name,
        "version": number,
        "url": client.link(name=source_name, version=number),
        "source": _answer_text(found, "source")[:500],
        "tags": _pairs(found.get("tags")),
        "model_tags": dict(model_tags),
        "registered_at": registered_at,
        **({"run_id": run_id, "run": run} if run else {"run_id": run_id or ""}),
    }
    return mlflow_model_register(
        name=name,
        model=model,
        source=_answer_text(found, "source") or uri,
        title=title,
        description=description,
        tags=tags,
        notes=_answer_text(found, "description"),
        origin=origin,
        allow_breaking=allow_breaking,
        user=user,
    )
