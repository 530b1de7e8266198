"""POST /api/v1/compare/ on the comparison plan: each model takes the inputs it knows from a
row, the refusals are the compare page's, and the answers keep API.md's shape."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest
import skops.io as sio
from sklearn.tree import DecisionTreeRegressor

from registry.catalog.services import model_version_register
from registry.models import Prediction
from tests.api.conftest import ROW, error_of
from tests.conftest import LITE_INPUTS, csv_bytes

COMPARE = "/api/v1/compare/"


def test_a_row_may_hold_inputs_that_only_some_models_take(
    analyst,
    clinic_version,
    lite_version,
    lite_model,
):
    response = analyst.post(
        COMPARE,
        {
            "models": ["clinic", "clinic-lite@1"],
            "inputs": [ROW, {**ROW, "age": 30}],
            "chart": True,
            "save": True,  # each model's answer stored with the inputs it takes
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"results", "chart"}
    clinic, lite = body["results"]
    assert set(clinic) == {"model", "version", "id", "url", "predictions", "warnings"}
    assert (clinic["model"], clinic["version"], lite["model"], lite["version"]) == (
        "clinic",
        1,
        "clinic-lite",
        1,
    )
    stored = Prediction.objects.get(pk=lite["id"])
    assert stored.inputs == [
        {k: ROW[k] for k in LITE_INPUTS},
        {**{k: ROW[k] for k in LITE_INPUTS}, "age": 30},
    ]
    assert Prediction.objects.get(pk=clinic["id"]).inputs[0] == ROW
    expected = lite_model.predict_proba(pd.DataFrame(stored.inputs))
    for answer, row in zip(lite["predictions"], expected, strict=True):
        assert answer["probabilities"] == {"no": round(row[0], 6), "yes": round(row[1], 6)}
        assert set(answer) == {"label", "probabilities"}
    go.Figure(body["chart"])
    assert [t["name"] for t in body["chart"]["data"]] == ["clinic (v1)", "clinic-lite@1"]


@pytest.fixture
def diabetes_v2(diabetes_version, diabetes_frame):
    X, y = diabetes_frame.drop(columns="progression"), diabetes_frame["progression"]
    tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, y)
    return model_version_register(
        name="diabetes",
        artifact=sio.dumps(tree),
        reference=csv_bytes(diabetes_frame),
        target="progression",
    )


def test_regressors_answer_with_values(analyst, diabetes_v2, diabetes_frame):
    rows = [{"age": 50, "bmi": 30, "bp": 90}, {"age": 20, "bmi": 20, "bp": 70}]
    body = analyst.post(
        COMPARE, {"models": ["diabetes@1", "diabetes@2"], "inputs": rows}, format="json"
    ).json()
    first, second = body["results"]
    tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(
        diabetes_frame.drop(columns="progression"), diabetes_frame["progression"]
    )
    assert second["predictions"] == [
        {"value": pytest.approx(v)} for v in tree.predict(pd.DataFrame(rows))
    ]
    assert all(set(p) == {"value"} for p in first["predictions"])
    assert "chart" not in body


def test_two_names_of_one_version_are_both_answered(analyst, clinic_version):
    body = analyst.post(
        COMPARE, {"models": ["clinic@champion", "clinic@1"], "inputs": [ROW]}, format="json"
    ).json()
    assert [(r["model"], r["version"]) for r in body["results"]] == [("clinic", 1), ("clinic", 1)]
    assert body["results"][0]["predictions"] == body["results"][1]["predictions"]


@pytest.mark.parametrize(
    ("models", "reason"),
    [
        (["clinic"], "Choose at least 2 models to compare (got 1)."),
        (["clinic"] * 7, "Compare at most 6 models at once."),
        (
            ["clinic", "diabetes"],
            "Compare models of one task: clinic is classification; diabetes is regression.",
        ),
        (
            ["clinic", "iris"],
            "These models share no input, so one form cannot drive them: clinic takes age, "
            "sex, bmi, bp, s5, region; iris takes sepal_length, sepal_width, petal_length, "
            "petal_width.",
        ),
    ],
)
def test_a_set_that_cannot_be_compared_is_refused_with_the_reason(
    analyst, clinic_version, iris_version, diabetes_version, models, reason
):
    response = analyst.post(COMPARE, {"models": models, "inputs": [ROW]}, format="json")
    error = error_of(response, 400, "invalid_input")
    assert error["fields"]["models"][0] == reason
    assert error["message"] == f"models: {reason}"
    assert not Prediction.objects.exists()


def test_an_input_of_two_types_is_refused(analyst, clinic_version, clinic_forest_bytes):
    interface = dict(clinic_version.interface)
    interface["inputs"] = [
        {**spec, "type": "number"} if spec["name"] == "age" else spec
        for spec in interface["inputs"]
    ]
    model_version_register(name="clinic-float", artifact=clinic_forest_bytes, interface=interface)
    response = analyst.post(
        COMPARE, {"models": ["clinic@1", "clinic-float"], "inputs": [ROW]}, format="json"
    )
    assert error_of(response, 400, "invalid_input")["fields"] == {
        "models": ["Input 'age' is an integer in clinic@1 but a number in clinic-float."]
    }


def test_a_field_no_model_takes_is_unknown(analyst, clinic_version, lite_version):
    response = analyst.post(
        COMPARE,
        {"models": ["clinic", "clinic-lite"], "inputs": [{**ROW, "weight": 80}]},
        format="json",
    )
    error = error_of(response, 400, "invalid_input")
    assert error["fields"] == {"0": {"weight": ["Unknown field."]}}
    assert error["message"] == "Row 0: weight: Unknown field."
    assert not Prediction.objects.exists()


def test_an_error_names_the_models_that_refuse(analyst, clinic_version, lite_version):
    response = analyst.post(
        COMPARE,
        {"models": ["clinic@champion", "clinic-lite"], "inputs": [ROW, {**ROW, "region": "west"}]},
        format="json",
    )
    error = error_of(response, 400, "invalid_input")
    assert error["fields"] == {
        "1": {
            "region": [
                "clinic@champion: Select a valid choice. 'west' is not one of: east, north, south."
            ]
        }
    }
    assert not Prediction.objects.exists()
