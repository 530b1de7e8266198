"""Open Inference Protocol (v2) in process: metadata, infer, outputs, errors, roles, storage.

The same calls from NVIDIA's and MLServer's own client code, over a real socket and across
processes, are in ``tests/api/test_oip_live.py``.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from rest_framework.test import APIClient

from registry.models import Prediction
from tests.api.conftest import ROW

INFER = "/v2/models/clinic/infer"
ROWS = [ROW, {**ROW, "age": 30, "sex": "female", "region": "east"}, {**ROW, "bmi": 35.5}]
DATATYPE = {"age": "INT64", "sex": "BYTES", "bmi": "FP64", "bp": "FP64", "s5": "FP64"}


def tensors_of(rows: list[dict], column_shape: bool = False) -> list[dict]:
    """One tensor per input column, as the pandas codec sends them."""
    n = len(rows)
    return [
        {
            "name": name,
            "datatype": DATATYPE.get(name, "BYTES"),
            "shape": [n, 1] if column_shape else [n],
            "data": [row[name] for row in rows],
        }
        for name in rows[0]
    ]


def raw_post(client: APIClient, path: str, body: bytes, **headers):
    """A POST with no Content-Type at all, as tritonclient.http sends it."""
    return client.generic("POST", path, body, content_type="", **headers)


def error_text(response, status: int) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str)
    return body["error"]


def test_health_and_server_metadata_answer_anyone(db, anonymous):
    assert anonymous.get("/v2/health/live").json() == {"live": True}
    assert anonymous.get("/v2/health/ready").json() == {"ready": True}
    server = anonymous.get("/v2").json()
    assert set(server) == {"name", "version", "extensions"}
    assert "binary_tensor_data" in server["extensions"]


def test_model_metadata_lists_every_input_with_its_datatype(clinic_version, viewer):
    body = viewer.get("/v2/models/clinic").json()
    assert body["name"] == "clinic" and body["versions"] == ["1"]
    assert body["inputs"] == [
        {"name": "age", "datatype": "INT64", "shape": [-1]},
        {"name": "sex", "datatype": "BYTES", "shape": [-1]},
        {"name": "bmi", "datatype": "FP64", "shape": [-1]},
        {"name": "bp", "datatype": "FP64", "shape": [-1]},
        {"name": "s5", "datatype": "FP64", "shape": [-1]},
        {"name": "region", "datatype": "BYTES", "shape": [-1]},
    ]
    assert body["outputs"] == [
        {"name": "predict", "datatype": "BYTES", "shape": [-1]},
        {
            "name": "predict_proba",
            "datatype": "FP64",
            "shape": [-1, 2],
            "parameters": {"classes": ["no", "yes"]},
        },
    ]
    assert viewer.get("/v2/models/clinic/versions/1").json()["inputs"] == body["inputs"]
    assert viewer.get("/v2/models/clinic/ready").json() == {
        "name": "clinic",
        "version": "1",
        "ready": True,
    }


@pytest.mark.parametrize("column_shape", [False, True], ids=["[N]", "[N,1]"])
def test_infer_gives_the_answers_of_predict_and_stores_the_call(
    clinic_version, analyst, column_shape
):
    expected = analyst.post(
        "/api/v1/models/clinic/predict/", {"inputs": ROWS}, format="json"
    ).json()["predictions"]
    body = {"id": "call-7", "inputs": tensors_of(ROWS, column_shape)}
    response = raw_post(analyst, INFER, json.dumps(body).encode())
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["model_name"], answer["model_version"], answer["id"]) == (
        "clinic",
        "1",
        "call-7",
    )
    predict, proba = answer["outputs"]
    assert predict == {
        "name": "predict",
        "datatype": "BYTES",
        "shape": [3],
        "data": [p["label"] for p in expected],
    }
    assert proba["shape"] == [3, 2] and proba["parameters"] == {"classes": ["no", "yes"]}
    assert proba["data"] == [p["probabilities"][c] for p in expected for c in ("no", "yes")]
    stored = Prediction.objects.get(pk=answer["parameters"]["prediction_id"])
    assert (stored.user, stored.row_count, stored.inputs) == (analyst.user, 3, ROWS)
    assert Prediction.objects.count() == 2  # the predict call and the infer call


def test_outputs_selects_what_comes_back(clinic_version, analyst):
    body = {"inputs": tensors_of(ROWS[:1]), "outputs": [{"name": "predict_proba"}]}
    answer = raw_post(analyst, INFER, json.dumps(body).encode()).json()
    assert [o["name"] for o in answer["outputs"]] == ["predict_proba"]
    body["outputs"] = [{"name": "shap"}]
    assert "shap" in error_text(raw_post(analyst, INFER, json.dumps(body).encode()), 400)


def test_binary_tensors_in_and_out(clinic_version, analyst):
    """Triton's binary tensor extension: inputs after the JSON header, outputs likewise."""
    rows = ROWS[:2]
    head, parts = [], []
    for tensor in tensors_of(rows):
        if tensor["datatype"] == "BYTES":
            raw = b"".join(struct.pack("<I", len(v)) + v.encode() for v in tensor["data"])
        else:
            dtype = "<i8" if tensor["datatype"] == "INT64" else "<f8"
            raw = np.asarray(tensor["data"], dtype=dtype).tobytes()
        del tensor["data"]
        tensor["parameters"] = {"binary_data_size": len(raw)}
        head.append(tensor)
        parts.append(raw)
    header = json.dumps({"inputs": head, "parameters": {"binary_data_output": True}}).encode()
    response = raw_post(
        analyst,
        INFER,
        header + b"".join(parts),
        HTTP_INFERENCE_HEADER_CONTENT_LENGTH=str(len(header)),
    )
    assert response.status_code == 200, response.content
    size = int(response["Inference-Header-Content-Length"])
    answer, binary = json.loads(response.content[:size]), response.content[size:]
    predict, proba = answer["outputs"]
    assert proba["parameters"]["binary_data_size"] == 2 * 2 * 8
    labels_size = predict["parameters"]["binary_data_size"]
    labels, at = [], 0
    while at < labels_size:
        (n,) = struct.unpack_from("<I", binary, at)
        labels.append(binary[at + 4 : at + 4 + n].decode())
        at += 4 + n
    probabilities = np.frombuffer(binary[labels_size:], dtype="<f8").reshape(2, 2)
    expected = analyst.post(
        "/api/v1/models/clinic/predict/", {"inputs": rows}, format="json"
    ).json()["predictions"]
    assert labels == [p["label"] for p in expected]
    assert probabilities.tolist() == [
        [p["probabilities"][c] for c in ("no", "yes")] for p in expected
    ]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda t: t[1]["data"].__setitem__(2, "other"), "Tensor 'sex', row 2"),
        (lambda t: t[2]["data"].__setitem__(1, "thin"), "Tensor 'bmi', row 1: 'thin' is not FP64"),
        (lambda t: t[0]["data"].__setitem__(0, 40.5), "Tensor 'age', row 0"),
        (lambda t: t.pop(3), "Tensor 'bp', row 0: This field is required."),
        (lambda t: t[4].__setitem__("shape", [3, 2]), "Tensor 's5': shape must be"),
        (
            lambda t: t[4].__setitem__("shape", [2]),
            "Tensor 's5' has 2 rows; the first tensor has 3",
        ),
        (lambda t: t[5].__setitem__("datatype", "STRING"), "Tensor 'region': datatype"),
        (
            lambda t: t.append({**t[0], "name": "weight"}),
            "Tensor 'weight' is not an input of this model: age, sex",
        ),
    ],
    ids=["category", "type", "whole", "missing", "shape", "count", "datatype", "unknown"],
)
def test_a_bad_tensor_is_refused_naming_the_tensor_and_row(clinic_version, analyst, change, named):
    tensors = tensors_of(ROWS)
    change(tensors)
    message = error_text(raw_post(analyst, INFER, json.dumps({"inputs": tensors}).encode()), 400)
    assert message.startswith(named), message
    assert not Prediction.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[]", b'{"inputs": []}', b'{"inputs": [{"datatype": "FP64"}]}'],
    ids=["empty", "broken", "list", "no-tensors", "no-name"],
)
def test_a_malformed_request_is_a_400_in_the_protocols_shape(clinic_version, analyst, body):
    assert error_text(raw_post(analyst, INFER, body), 400)


def test_unknown_model_or_version_is_404(clinic_version, analyst):
    body = json.dumps({"inputs": tensors_of(ROWS)}).encode()
    assert "penguins" in error_text(raw_post(analyst, "/v2/models/penguins/infer", body), 404)
    assert "version 9" in error_text(
        raw_post(analyst, "/v2/models/clinic/versions/9/infer", body), 404
    )
    assert error_text(analyst.get("/v2/models/penguins"), 404)


def test_tokens_and_roles_are_the_apis(clinic_version, anonymous, viewer, client_as):
    body = json.dumps({"inputs": tensors_of(ROWS)}).encode()
    response = raw_post(anonymous, INFER, body)
    assert error_text(response, 401) and response["WWW-Authenticate"] == "Token"
    assert error_text(anonymous.get("/v2/models/clinic"), 401)
    assert error_text(raw_post(viewer, INFER, body), 403)
    bearer = client_as("analyst", "bearer-user")
    key = bearer._credentials["HTTP_AUTHORIZATION"].split()[1]
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert raw_post(bearer, INFER, body).status_code == 200
    bearer.credentials(HTTP_AUTHORIZATION="Bearer not-a-key")
    assert error_text(raw_post(bearer, INFER, body), 401) == "Invalid token."
    assert error_text(viewer.get(INFER), 405)


def test_hostile_requests_are_refused_clearly_and_store_nothing(clinic_version, analyst):
    deep = {"inputs": [{"name": "age", "datatype": "INT64", "shape": [1], "data": [[[[1]]]]}]}
    huge = tensors_of(ROWS)
    huge[0]["data"][0] = 2**70
    nan = tensors_of(ROWS)
    nan[2]["data"][1] = float("nan")
    nested = b'{"inputs": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    cases = [
        (json.dumps(deep).encode(), {}, "Tensor 'age', row 0: give one value per row."),
        (json.dumps({"inputs": huge}).encode(), {}, "does not fit in 64 bits"),
        (json.dumps({"inputs": nan}).encode(), {}, "Tensor 'bmi', row 1: Enter a finite number"),
        (nested, {}, "not a JSON inference request"),
        (b"{}", {"HTTP_INFERENCE_HEADER_CONTENT_LENGTH": "99"}, "outside the body"),
        (b"{}", {"HTTP_INFERENCE_HEADER_CONTENT_LENGTH": "two"}, "must be a number"),
    ]
    binary = tensors_of(ROWS)
    binary[1] = {**binary[1], "parameters": {"binary_data_size": 9}}
    del binary[1]["data"]
    header = json.dumps({"inputs": binary}).encode()
    cases.append(
        (
            header + struct.pack("<I", 50) + b"male!",
            {"HTTP_INFERENCE_HEADER_CONTENT_LENGTH": str(len(header))},
            "Tensor 'sex': its binary data ends inside an element.",
        )
    )
    for body, headers, named in cases:
        message = error_text(raw_post(analyst, INFER, body, **headers), 400)
        assert named in message, message
    assert not Prediction.objects.exists()
