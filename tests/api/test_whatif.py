"""What-if: one row's answer and its sensitivity curves, answered and counted, not stored."""

import plotly.graph_objects as go

from registry.models import Prediction, Usage
from tests.api.conftest import ROW, error_of

WHATIF = "/api/v1/models/clinic/whatif/"


def test_a_whatif_answers_the_row_and_sweeps_each_input(clinic_version, analyst):
    response = analyst.post(WHATIF, {"inputs": ROW, "points": 5}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["model"], body["version"]) == ("clinic", 1)
    assert set(body["prediction"]["probabilities"]) == {"no", "yes"}
    curves = {c["feature"]: c for c in body["curves"]}
    assert set(curves) == set(ROW)
    assert curves["region"]["values"] == ["east", "north", "south"]
    assert len(curves["bmi"]["values"]) == len(curves["bmi"]["predictions"]) == 5
    assert set(curves["bmi"]["predictions"][0]) == {"no", "yes"}
    assert "chart" not in body


def test_a_whatif_is_counted_but_not_stored(clinic_version, analyst):
    analyst.post(WHATIF, {"inputs": ROW}, format="json")
    assert not Prediction.objects.exists()
    assert Usage.objects.get(version=clinic_version, kind="whatif").count == 1


def test_a_whatif_sweeps_only_the_features_asked_and_draws_them(clinic_version, analyst):
    body = analyst.post(
        WHATIF, {"inputs": ROW, "features": ["bmi", "sex"], "chart": True}, format="json"
    ).json()
    assert [c["feature"] for c in body["curves"]] == ["bmi", "sex"]
    go.Figure(body["chart"])
    curves = [t for t in body["chart"]["data"] if t.get("meta") != "current"]
    assert [t["xaxis"] for t in curves] == ["x", "x2"]
    # bmi's current value is marked across its panel
    (current,) = [t for t in body["chart"]["data"] if t.get("meta") == "current"]
    assert current["xaxis"] == "x" and current["x"] == [ROW["bmi"]] * 2


def test_a_regression_whatif_sweeps_values(diabetes_version, analyst):
    body = analyst.post(
        "/api/v1/models/diabetes/whatif/",
        {"inputs": {"age": 50, "bmi": 30, "bp": 90}, "chart": True},
        format="json",
    ).json()
    assert set(body["prediction"]) == {"value"}
    assert isinstance(body["curves"][0]["predictions"][0], float)
    go.Figure(body["chart"])


def test_whatif_refusals_are_invalid_input(clinic_version, analyst):
    cases = [
        ({"inputs": ROW, "features": ["height"]}, "features"),
        ({"inputs": ROW, "points": 1}, "points"),
        ({"inputs": ROW, "points": 1000}, "points"),
        ({"inputs": [ROW]}, "inputs"),
        ({"inputs": {**ROW, "sex": "x"}}, "0"),
    ]
    for body, field in cases:
        error = error_of(analyst.post(WHATIF, body, format="json"), 400, "invalid_input")
        assert field in error["fields"], body
    assert not Usage.objects.exists()
