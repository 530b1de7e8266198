"""Every capability on every model kind, through the real API: XGBoost, LightGBM and ONNX
models registered by upload, then predict, what-if, compare across kinds, batch, explain,
counterfactuals and the Open Inference Protocol; and their bad files refused with a 400."""

from __future__ import annotations

import copy
import io
import json

import numpy as np
import plotly.graph_objects as go
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.models import BatchJob, ModelVersion, RegisteredModel
from tests import kinds_models as km
from tests.api.conftest import error_of
from tests.api.test_oip import raw_post
from tests.conftest import csv_bytes

ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
OTHER = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}
KINDS = ["xgboost", "lightgbm", "onnx"]


def upload(name: str, data: bytes) -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


@pytest.fixture(scope="module")
def iris():
    return km.iris_frame()


@pytest.fixture(scope="module")
def natives(iris):
    """Each kind's file and the native library's own answer for ROW and OTHER."""
    import onnxruntime
    import xgboost

    X = np.array([list(ROW.values()), list(OTHER.values())])
    booster = km.xgboost_classifier(iris)
    lgb = km.lightgbm_classifier(iris)
    graph = km.onnx_classifier(iris)
    session = onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"])
    zipmap = session.run(None, {"X": X.astype("float32")})[1]
    names = list(ROW)
    return {
        "xgboost": (
            km.booster_ubjson(booster),
            booster.predict(xgboost.DMatrix(X, feature_names=names)),
        ),
        "lightgbm": (km.lightgbm_text(lgb), lgb.predict(X)),
        "onnx": (graph, np.array([[r[c] for c in sorted(set(iris["species"]))] for r in zipmap])),
    }


def register(manager, name: str, data: bytes, iris, target: str = "species"):
    return manager.post(
        "/api/v1/models/",
        {
            "name": name,
            "artifact": upload(f"{name}.model", data),
            "reference_data": upload("iris.csv", csv_bytes(iris)),
            "target": target,
        },
        format="multipart",
    )


@pytest.fixture
def registered(manager, natives, iris):
    for kind in KINDS:
        response = register(manager, kind, natives[kind][0], iris)
        assert response.status_code == 201, response.content
        assert response.json()["framework"] == kind
    return natives


@pytest.mark.parametrize("kind", KINDS)
def test_predict_answers_as_the_native_library(registered, analyst, kind):
    response = analyst.post(
        f"/api/v1/models/{kind}/predict/", {"inputs": [ROW, OTHER]}, format="json"
    )
    assert response.status_code == 200, response.content
    species = ["setosa", "versicolor", "virginica"]
    for answer, native in zip(response.json()["predictions"], registered[kind][1], strict=True):
        # The API rounds probabilities to 6 places for every kind; exact to 1e-9 before that
        # (tests/registry/test_kinds_register.py).
        got = [answer["probabilities"][c] for c in species]
        np.testing.assert_allclose(got, native, atol=5e-7)
        assert answer["label"] == species[int(np.argmax(native))]


@pytest.mark.parametrize("kind", KINDS)
def test_whatif_curves_and_grid(registered, analyst, kind):
    body = analyst.post(
        f"/api/v1/models/{kind}/whatif/", {"inputs": ROW, "points": 5, "chart": True}, format="json"
    ).json()
    assert {c["feature"] for c in body["curves"]} == set(ROW)
    assert len(body["curves"][0]["predictions"]) == 5
    go.Figure(body["chart"])


@pytest.mark.parametrize("kind", KINDS)
def test_an_explanation_adds_up(registered, analyst, kind):
    response = analyst.post(f"/api/v1/models/{kind}/explain/", {"inputs": OTHER}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    total = body["baseline"] + sum(c["effect"] for c in body["contributions"])
    assert abs(total - body["answer"]) < 1e-6
    assert [c["input"] for c in body["contributions"]] == list(ROW)


@pytest.mark.parametrize("kind", KINDS)
def test_counterfactuals_reach_the_target(registered, analyst, kind):
    body = {"inputs": ROW, "target": "virginica", "max_changes": 2}
    response = analyst.post(f"/api/v1/models/{kind}/counterfactuals/", body, format="json")
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["prediction"]["label"] == "setosa"
    for answer in result["counterfactuals"]:
        assert answer["prediction"]["label"] == "virginica"


def test_compare_runs_every_kind_and_scikit_learn_side_by_side(registered, iris_version, analyst):
    models = [*KINDS, "iris"]
    response = analyst.post(
        "/api/v1/compare/", {"models": models, "inputs": [OTHER]}, format="json"
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["model"] for r in results] == models
    assert {r["predictions"][0]["label"] for r in results} == {"virginica"}


@pytest.mark.parametrize("kind", KINDS)
def test_a_batch_job_scores_every_row(
    registered, analyst, iris, kind, django_capture_on_commit_callbacks
):
    data = csv_bytes(iris.drop(columns="species").head(60))
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst.post(
            f"/api/v1/models/{kind}/batch/",
            {"file": SimpleUploadedFile("rows.csv", data, "text/csv")},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    job = analyst.get(response.json()["url"]).json()
    assert job["status"] == "succeeded", job
    assert (job["rows_done"], job["rows_failed"]) == (60, 0)
    assert BatchJob.objects.get().version.framework == kind


@pytest.mark.parametrize("kind", KINDS)
def test_open_inference_protocol_infer(registered, analyst, kind):
    inputs = [
        {"name": name, "datatype": "FP64", "shape": [2], "data": [ROW[name], OTHER[name]]}
        for name in ROW
    ]
    response = raw_post(
        analyst, f"/v2/models/{kind}/infer", json.dumps({"inputs": inputs}).encode()
    )
    assert response.status_code == 200, response.content
    predict, proba = response.json()["outputs"]
    assert predict["data"] == ["setosa", "virginica"]
    assert proba["parameters"] == {"classes": ["setosa", "versicolor", "virginica"]}
    np.testing.assert_allclose(np.reshape(proba["data"], (2, 3)), registered[kind][1], atol=5e-7)


def test_a_regressor_of_each_booster_kind_predicts_and_explains(manager, analyst):
    diabetes = km.diabetes_frame()
    row = {"age": 50, "bmi": 30.0, "bp": 90.0, "s5": 4.5}
    for kind, data in (
        ("xgb-reg", km.booster_json(km.xgboost_regressor(diabetes))),
        ("lgb-reg", km.lightgbm_text(km.lightgbm_regressor(diabetes))),
        ("onnx-reg", km.onnx_regressor(diabetes)),
    ):
        assert register(manager, kind, data, diabetes, "progression").status_code == 201
        answer = analyst.post(f"/api/v1/models/{kind}/predict/", {"inputs": [row]}, format="json")
        assert answer.status_code == 200, answer.content
        assert isinstance(answer.json()["predictions"][0]["value"], float)
        body = analyst.post(f"/api/v1/models/{kind}/explain/", {"inputs": row}, format="json")
        assert body.status_code == 200, body.content


# ------------------------------------------------------------------ bad files
def _huge_tree(iris) -> bytes:
    doc = json.loads(km.booster_json(km.xgboost_classifier(iris)))
    tree = doc["learner"]["gradient_booster"]["model"]["trees"][0]
    n = 1_000_001
    tree["tree_param"]["num_nodes"] = str(n)
    for key in ("left_children", "right_children"):
        tree[key] = [-1] * n
    return json.dumps(doc).encode()


def _unknown_domain(iris) -> bytes:
    import onnx

    model = onnx.load_from_string(km.onnx_classifier(iris))
    model.opset_import.add(domain="com.example.ops", version=1)
    model.graph.node[0].domain = "com.example.ops"
    return model.SerializeToString()


def _external_data(iris) -> bytes:
    import onnx

    model = onnx.load_from_string(km.onnx_classifier(iris))
    tensor = copy.deepcopy(model.graph.initializer[0]) if model.graph.initializer else None
    if tensor is None:
        tensor = onnx.TensorProto(name="w", data_type=onnx.TensorProto.FLOAT, dims=[1])
        model.graph.initializer.append(tensor)
        tensor = model.graph.initializer[-1]
    else:
        tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value="../../etc/passwd")
    return model.SerializeToString()


BAD = {
    "unknown kind": (lambda iris: b"just some text\n", "not a skops file nor any model kind"),
    "truncated booster": (
        lambda iris: km.booster_ubjson(km.xgboost_classifier(iris))[:5000],
        "the XGBoost model cannot be read",
    ),
    "edited booster": (
        lambda iris: km.lightgbm_text(km.lightgbm_classifier(iris)).replace(
            b"left_child=", b"left_child=70000 ", 1
        ),
        "Refused: tree 0",
    ),
    "ONNX of an unknown domain": (_unknown_domain, "operator domains other than ai.onnx"),
    "ONNX with external data": (_external_data, "names external data"),
    "a 10^6-node tree": (_huge_tree, "tree 0 has 1000001 nodes"),
    "feature count disagrees": (
        lambda iris: km.booster_json(km.xgboost_binary(iris)),
        "The model takes 4 inputs; the reference data has 5 columns",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_file_is_a_one_line_400_and_nothing_is_registered(manager, iris, case):
    make, says = BAD[case]
    reference = iris.assign(extra=1.0) if case == "feature count disagrees" else iris
    response = register(manager, "bad", make(iris), reference)
    error = error_of(response, 400, "invalid_input")
    message = next(iter(error["fields"].values()))[0]
    assert says in message and "\n" not in message
    assert not RegisteredModel.objects.exists() and not ModelVersion.objects.exists()


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_a_booster_on_categories_whatifs_explains_and_finds_counterfactuals(
    manager, analyst, library
):
    """Trained on pandas categories: its category input is swept in the what-if, explained,
    and moved by counterfactuals, each answer in its categories."""
    import pandas as pd

    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "size": rng.normal(size=300).round(3),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], 300)),
        }
    )
    label = np.where(frame["size"] + 2 * (frame["colour"] == "red") > 0.8, "big", "small")
    codes = (label == "small").astype(int)
    if library == "xgboost":
        import xgboost

        data = xgboost.DMatrix(frame, codes, enable_categorical=True)
        params = {"objective": "binary:logistic", "tree_method": "hist", "nthread": 1}
        model = bytes(xgboost.train(params, data, num_boost_round=15).save_raw(raw_format="ubj"))
    else:
        import lightgbm

        params = {"objective": "binary", "verbose": -1, "min_data_per_group": 5}
        model = lightgbm.train(params, lightgbm.Dataset(frame, codes), 15).model_to_string()
        model = model.encode()
    rows = frame.astype({"colour": object}).assign(label=label)
    response = manager.post(
        "/api/v1/models/",
        {
            "name": "sizes",
            "artifact": upload("sizes.model", model),
            "reference_data": upload("sizes.csv", csv_bytes(rows)),
            "target": "label",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    row = {"size": 0.0, "colour": "blue"}
    curves = analyst.post(
        "/api/v1/models/sizes/whatif/", {"inputs": row, "points": 5}, format="json"
    ).json()["curves"]
    colour = next(c for c in curves if c["feature"] == "colour")
    assert sorted(map(str, colour["values"])) == ["blue", "green", "red"]
    explained = analyst.post("/api/v1/models/sizes/explain/", {"inputs": row}, format="json")
    assert explained.status_code == 200, explained.content
    body = explained.json()
    assert (
        abs(body["baseline"] + sum(c["effect"] for c in body["contributions"]) - body["answer"])
        < 1e-6
    )
    found = analyst.post(
        "/api/v1/models/sizes/counterfactuals/",
        {"inputs": row, "target": "big", "max_changes": 1},
        format="json",
    )
    assert found.status_code == 200, found.content
    result = found.json()
    assert result["prediction"]["label"] == "small"
    assert result["counterfactuals"]
    for answer in result["counterfactuals"]:
        assert answer["prediction"]["label"] == "big"
