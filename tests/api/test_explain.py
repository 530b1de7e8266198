"""Why, and what would it take: explain/ and counterfactuals/ through the API."""

import pandas as pd
import plotly.graph_objects as go
import pytest

from registry.models import Prediction
from tests.api.conftest import ROW, error_of

EXPLAIN = "/api/v1/models/clinic/explain/"
COUNTERFACTUALS = "/api/v1/models/clinic/counterfactuals/"


def test_an_explanation_adds_up_to_the_answer(clinic_version, clinic_forest, analyst):
    response = analyst.post(EXPLAIN, {"inputs": ROW, "chart": True}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    label = clinic_forest.predict(pd.DataFrame([ROW]))[0]
    assert (body["model"], body["version"]) == ("clinic", 1)
    assert body["prediction"]["label"] == label
    # Whatever the answer, a binary classifier explains its positive class (the second), as
    # the pages' curves and waterfall follow it (docs/api.md).
    assert body["explained"] == "probability of yes"
    assert body["answer"] == pytest.approx(body["prediction"]["probabilities"]["yes"], abs=1e-6)
    assert [c["input"] for c in body["contributions"]] == list(ROW)
    total = body["baseline"] + sum(c["effect"] for c in body["contributions"])
    assert abs(total - body["answer"]) < 1e-6
    assert body["summary"].startswith("yes (")
    go.Figure(body["chart"])
    assert body["chart"]["data"][0]["type"] == "waterfall"
    assert not Prediction.objects.exists()


def test_another_class_can_be_explained(clinic_version, analyst):
    body = analyst.post(EXPLAIN, {"inputs": ROW, "class": "yes"}, format="json").json()
    assert body["explained"] == "probability of yes"
    assert body["answer"] == pytest.approx(body["prediction"]["probabilities"]["yes"], abs=1e-6)
    assert "chart" not in body


@pytest.mark.parametrize(
    "body, field",
    [
        ({"inputs": ROW, "class": "maybe"}, "class"),
        ({"inputs": {**ROW, "bmi": "heavy"}}, "0"),
        ({"inputs": [ROW]}, "inputs"),
        ({"inputs": ROW, "class": {"x": 1}}, "class"),
        ({"inputs": {**ROW, "bmi": "1e999"}}, "0"),
        ({}, "inputs"),
    ],
)
def test_a_bad_explain_request_names_the_field(clinic_version, analyst, body, field):
    error = error_of(analyst.post(EXPLAIN, body, format="json"), 400, "invalid_input")
    assert field in error["fields"]


def test_a_viewer_cannot_ask_why(clinic_version, viewer):
    error_of(viewer.post(EXPLAIN, {"inputs": ROW}, format="json"), 403, "permission_denied")


def test_counterfactuals_get_the_target_and_keep_fixed_inputs(
    clinic_version, clinic_forest, analyst
):
    row = {"age": 30, "sex": "female", "bmi": 21.0, "bp": 80.0, "s5": 4.0, "region": "north"}
    assert clinic_forest.predict(pd.DataFrame([row]))[0] == "no"
    body = {"inputs": row, "target": "yes", "fixed": ["sex", "region"], "max_changes": 2}
    response = analyst.post(COUNTERFACTUALS, body, format="json")
    assert response.status_code == 200, response.content
    result = response.json()
    assert (result["target"], result["prediction"]["label"], result["message"]) == ("yes", "no", "")
    assert (result["margin"], result["needed"]) == (5.0, 0.05)  # the default margin
    assert 1 <= len(result["counterfactuals"]) <= 3
    for answer in result["counterfactuals"]:
        assert clinic_forest.predict(pd.DataFrame([answer["inputs"]]))[0] == "yes"
        # Clearly "yes": ahead of "no" by 5 points at least, not a coin flip.
        p = answer["prediction"]["probabilities"]
        assert p["yes"] - p["no"] >= 0.05 - 1e-6
        assert answer["prediction"]["label"] == "yes"
        assert (answer["inputs"]["sex"], answer["inputs"]["region"]) == ("female", "north")
        assert 1 <= len(answer["changes"]) <= 2
        for change in answer["changes"]:
            assert change["from"] == row[change["input"]]
            assert change["to"] == answer["inputs"][change["input"]]
    costs = [a["cost"] for a in result["counterfactuals"]]
    assert costs == sorted(costs)
    assert not Prediction.objects.exists()


def test_a_regressor_is_asked_for_a_range(diabetes_version, analyst):
    row = {"age": 50, "bmi": 25.0, "bp": 90.0}
    body = analyst.post(
        "/api/v1/models/diabetes/counterfactuals/",
        {"inputs": row, "target": {"min": 200}},
        format="json",
    ).json()
    assert body["target"] == {"min": 200.0}
    assert body["margin"] == 5.0
    # One end: 5% of the way from the current answer to it.
    assert body["needed"] == pytest.approx(0.05 * (200 - body["prediction"]["value"]), rel=1e-6)
    for answer in body["counterfactuals"]:
        assert answer["prediction"]["value"] >= 200 + body["needed"] - 1e-6


@pytest.mark.parametrize(
    "body, field",
    [
        ({"inputs": ROW, "target": "maybe"}, "target"),
        ({"inputs": ROW, "target": {"min": 1}}, "target"),
        ({"inputs": ROW}, "target"),
        ({"inputs": ROW, "target": ["yes"]}, "target"),
        ({"inputs": ROW, "target": {"min": {"deep": [1] * 1000}}}, "target"),
        ({"inputs": ROW, "target": "yes", "fixed": "sex"}, "fixed"),
        ({"inputs": ROW, "target": "yes", "fixed": ["nope"]}, "fixed"),
        ({"inputs": ROW, "target": "yes", "max_changes": 0}, "max_changes"),
        ({"inputs": ROW, "target": "yes", "count": 1000}, "count"),
        ({"inputs": ROW, "target": "yes", "margin": 80}, "margin"),
        ({"inputs": ROW, "target": "yes", "margin": "lots"}, "margin"),
        ({"inputs": {**ROW, "region": "mars"}, "target": "yes"}, "0"),
    ],
)
def test_a_bad_counterfactual_request_names_the_field(clinic_version, analyst, body, field):
    response = analyst.post(COUNTERFACTUALS, body, format="json")
    error = error_of(response, 400, "invalid_input")
    assert field in error["fields"]


def test_both_are_in_the_openapi_schema(clinic_version, viewer):
    schema = viewer.get("/api/schema/?format=json").json()
    for path in ("/api/v1/models/{name}/explain/", "/api/v1/models/{name}/counterfactuals/"):
        assert set(schema["paths"][path]["post"]["responses"]) >= {"200", "400", "403"}
