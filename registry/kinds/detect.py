"""Which kind of model file this is, from its first bytes (never from its name)."""

from __future__ import annotations

SKOPS = "skops"
XGBOOST_JSON = "xgboost-json"
XGBOOST_UBJSON = "xgboost-ubjson"
LIGHTGBM = "lightgbm"
ONNX = "onnx"

KINDS_TEXT = (
    "a skops file (scikit-learn), an XGBoost booster (save_model JSON or UBJSON), "
    "a LightGBM booster (save_model text) or an ONNX graph"
)


def kind_of(data: bytes) -> str | None:
    """The kind of a model file, or None for anything else (a pickle, say).

    - skops: a zip (``PK\\x03\\x04``);
    - XGBoost JSON: an object whose first key is quoted (``{"``, after white space);
    - XGBoost UBJSON: ``{`` then an integer length marker of the first key (``i U I l L``);
    - LightGBM text: the first line is ``tree``;
    - ONNX: a ModelProto; protobuf writes fields in number order, and every ONNX writer sets
      field 1 (``ir_version``, a varint: tag byte 0x08) first.
    """
    if data.startswith(b"PK\x03\x04"):
        return SKOPS
    head = data[:64]
    stripped = head.lstrip(b" \t\r\n")
    if stripped.startswith(b"{"):
        after = stripped[1:].lstrip(b" \t\r\n")
        if after.startswith(b'"'):
            return XGBOOST_JSON
    if head[:1] == b"{" and head[1:2] in (b"i", b"U", b"I", b"l", b"L"):
        return XGBOOST_UBJSON
    if head.startswith((b"tree\n", b"tree\r\n")):
        return LIGHTGBM
    if head[:1] == b"\x08" and len(data) > 2:
        return ONNX
    return None
