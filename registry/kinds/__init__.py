"""Model kinds beyond scikit-learn: XGBoost, LightGBM and ONNX files, checked, then served.

A file's kind is recognised by its content (:mod:`registry.kinds.detect`). Each kind's module
checks in pure Python every structure its native library would index without checks, and only
then hands the file to that library, imported at that moment (so a process that never loads
such a model never imports XGBoost, LightGBM or onnxruntime). The loaded model wears the face
of a scikit-learn estimator (:class:`registry.kinds.base.NativeModel`), so every capability
above it works unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError

from registry.artifacts.errors import ArtifactError
from registry.interface import native
from registry.kinds.detect import (
    KINDS_TEXT,
    LIGHTGBM,
    ONNX,
    XGBOOST_JSON,
    XGBOOST_UBJSON,
    kind_of,
)


def native_from_bytes(data: bytes) -> Any:
    """Load a non-skops model file, checked first; refuse a file of no known kind.

    Raises :class:`registry.artifacts.ArtifactError` with one line naming what is wrong.
    """
    kind = kind_of(data)
    if kind in (XGBOOST_JSON, XGBOOST_UBJSON):
        from registry.kinds.xgboost import xgboost_from_bytes

        return xgboost_from_bytes(data, "json" if kind == XGBOOST_JSON else "ubjson")
    if kind == LIGHTGBM:
        from registry.kinds.lightgbm import lightgbm_from_bytes

        return lightgbm_from_bytes(data)
    if kind == ONNX:
        from registry.kinds.onnx import onnx_from_bytes

        return onnx_from_bytes(data)
    raise ArtifactError(
        f"This is not a skops file nor any model kind the portal reads: send {KINDS_TEXT}. "
        "Pickle and joblib files are never loaded."
    )


def is_native(estimator: Any) -> bool:
    from registry.kinds.base import NativeModel

    return isinstance(estimator, NativeModel)


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def native_prepare(
    estimator: Any,
    *,
    frame: pd.DataFrame | None,
    target: str | None,
    interface: Mapping[str, Any] | None,
) -> tuple[Any, list[str]]:
    """A native model ready to register: its inputs checked against the reference data (or
    the declared interface) and a classifier's labels attached; with notes for the version.

    A booster knows class indices 0..k-1, not names: its labels are the declared interface's
    classes, else the reference data's target values sorted (the order scikit-learn's
    ``LabelEncoder`` gives them, and so XGBoost's and LightGBM's scikit-learn estimators). An
    ONNX graph records its own labels, which are used as they are. A scikit-learn estimator
    is returned as it is.
    """
    if not is_native(estimator):
        return estimator, []
    notes = [
        f"Model kind: {estimator.framework} {estimator.framework_version} "
        f"({estimator.estimator_class}), checked before loading."
    ]
    width = estimator.n_features_in_
    names = estimator.input_names
    if interface is not None:
        declared = [item.get("name") for item in interface.get("inputs", [])]
        if len(declared) != width:
            raise ValidationError(
                {
                    "interface": [
                        f"The model takes {width} inputs; the interface declares {len(declared)}."
                    ]
                }
            )
        types = {item.get("name"): item.get("type") for item in interface.get("inputs", [])}
        categorical = [n for n, t in types.items() if t in ("category", "text", "date")]
    elif frame is not None:
        columns = names or [str(c) for c in frame.columns if c != target]
        missing = [n for n in columns if n not in frame.columns]
        if missing:
            raise ValidationError(
                {"reference_data": [f"The model expects columns that are missing: {missing}."]}
            )
        if len(columns) != width:
            raise ValidationError(
                {
                    "reference_data": [
                        f"The model takes {width} inputs; the reference data has {len(columns)} "
                        "columns besides the target."
                    ]
                }
            )
        categorical = [c for c in columns if not _numeric(frame[c])]
    else:
        categorical = []
    # A LightGBM booster trained on pandas categories takes those inputs as text.
    taken = {k.name for k in getattr(estimator, "known_inputs", list)() if k.choices}
    categorical = [c for c in categorical if c not in taken]
    if categorical and estimator.framework in ("xgboost", "lightgbm"):
        raise ValidationError(
            {
                "reference_data": [
                    f"A {estimator.framework} booster takes numbers; these inputs are not: "
                    f"{', '.join(map(str, categorical))}."
                ]
            }
        )
    if estimator.task != "classification":
        return estimator.labelled(None), notes
    classes, source = _classes(estimator, frame=frame, target=target, interface=interface)
    notes.append(
        f"Class labels {classes} from {source}; class index i of the model answers for the "
        "i-th label."
    )
    return estimator.labelled(classes), notes


def _classes(
    estimator: Any,
    *,
    frame: pd.DataFrame | None,
    target: str | None,
    interface: Mapping[str, Any] | None,
) -> tuple[list[Any], str]:
    declared = (interface or {}).get("output", {}).get("classes")
    if estimator.own_classes:
        if declared is not None and [str(c) for c in declared] != [
            str(c) for c in estimator.own_classes
        ]:
            raise ValidationError(
                {"interface": [f"The graph's classes are {estimator.own_classes}, in that order."]}
            )
        return list(estimator.own_classes), "the graph itself"
    if declared:
        classes, source = list(declared), "the declared interface"
    elif frame is not None and target and target in frame.columns:
        values = frame[target].dropna().unique().tolist()
        classes = [native(v) for v in sorted(values)]
        source = f"the reference data's target '{target}', sorted"
    else:
        raise ValidationError(
            {
                "target": [
                    "A booster classifier knows class indices only: give the target column of "
                    "the reference data, or declare the classes in the interface."
                ]
            }
        )
    if len(classes) != estimator.n_classes:
        raise ValidationError(
            {
                "target": [
                    f"The model has {estimator.n_classes} classes; {source} gives {len(classes)}."
                ]
            }
        )
    return classes, source
