"""Compare: the same rows through several models or versions, side by side."""

import json

import plotly.graph_objects as go
import pytest

import charts.compare
from registry.catalog.services import model_version_register
from registry.models import Prediction
from tests.api.conftest import ROW, error_of

COMPARE = "/api/v1/compare/"


@pytest.fixture
def clinic_v2(clinic_version, clinic_forest_bytes):
    return model_version_register(
        name="clinic", artifact=clinic_forest_bytes, interface=clinic_version.interface
    )


def test_each_model_answers_in_order_and_nothing_is_stored(clinic_v2, analyst):
    response = analyst.post(
        COMPARE,
        {"models": ["clinic", "clinic@2", "clinic@champion"], "inputs": [ROW, ROW]},
        format="json",
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["model"], r["version"], r["id"], r["url"]) for r in results] == [
        ("clinic", 1, None, None),
        ("clinic", 2, None, None),
        ("clinic", 1, None, None),
    ]
    assert all(len(r["predictions"]) == 2 for r in results)
    assert not Prediction.objects.exists()


def test_a_saved_comparison_stores_each_answer(clinic_v2, analyst):
    response = analyst.post(
        COMPARE,
        {"models": ["clinic", "clinic@2", "clinic@champion"], "inputs": [ROW], "save": True},
        format="json",
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["model"], r["version"]) for r in results] == [
        ("clinic", 1),
        ("clinic", 2),
        ("clinic", 1),
    ]
    stored = {str(p.id): p for p in Prediction.objects.all()}
    assert set(stored) == {r["id"] for r in results}
    for result in results:
        assert result["url"] == f"http://testserver/predictions/{result['id']}/"
        assert result["predictions"] == stored[result["id"]].outputs
    assert "chart" not in response.json()


def test_a_comparison_of_classifiers_draws_grouped_probabilities(clinic_v2, analyst):
    body = analyst.post(
        COMPARE,
        {"models": ["clinic@1", "clinic@2"], "dataframe_records": [ROW, ROW], "chart": True},
        format="json",
    ).json()
    chart = body["chart"]
    go.Figure(chart)
    assert "bdata" not in json.dumps(chart)
    assert [t["name"] for t in chart["data"]] == ["clinic@1", "clinic@2"]
    assert chart["data"][0]["x"] == ["no", "yes"]
    assert chart["layout"]["barmode"] == "group"
    assert "mean of 2 rows" in chart["layout"]["title"]["text"]


def test_a_comparison_of_regressors_draws_values_per_row(diabetes_version, analyst):
    rows = [{"age": 50, "bmi": 30, "bp": 90}, {"age": 20, "bmi": 20, "bp": 70}]
    body = analyst.post(
        COMPARE,
        {"models": ["diabetes", "diabetes@1"], "inputs": rows, "chart": True},
        format="json",
    ).json()
    go.Figure(body["chart"])
    assert [t["name"] for t in body["chart"]["data"]] == ["diabetes (v1)", "diabetes@1"]
    assert body["chart"]["data"][0]["x"] == ["Row 0", "Row 1"]


def test_models_that_share_no_input_are_refused_and_nothing_is_stored(
    clinic_version, iris_version, analyst
):
    response = analyst.post(COMPARE, {"models": ["clinic", "iris"], "inputs": [ROW]}, format="json")
    error = error_of(response, 400, "invalid_input")
    assert "share no input" in error["message"]
    assert not Prediction.objects.exists()


@pytest.mark.parametrize(
    ("models", "status", "code"),
    [
        (["clinic", "nope"], 404, "not_found"),
        (["clinic@9"], 404, "not_found"),
        (["clinic@gold"], 404, "not_found"),
        (["clinic@"], 400, "invalid_input"),
        ([], 400, "invalid_input"),
        (["clinic"] * 11, 400, "invalid_input"),
    ],
)
def test_a_bad_model_list_is_refused(clinic_version, analyst, models, status, code):
    response = analyst.post(COMPARE, {"models": models, "inputs": [ROW]}, format="json")
    error_of(response, status, code)
    assert not Prediction.objects.exists()


def test_one_chart_does_not_mix_classifiers_and_regressors(
    clinic_version, diabetes_version, analyst
):
    response = analyst.post(
        COMPARE, {"models": ["clinic", "diabetes"], "inputs": [ROW], "chart": True}, format="json"
    )
    assert error_of(response, 400, "invalid_input")["fields"] == {
        "models": ["One chart compares models of one task."]
    }


def test_the_comparison_figures_are_valid_plotly_without_a_database():
    for fig in (
        charts.compare.compare_probabilities(
            ["a", "b"], [{"x": 0.2, "y": 0.8}, {"y": 0.5, "z": 0.5}]
        ),
        charts.compare.compare_values(["a", "b"], [[1.0, 2.0], [1.5, 2.5]], target="t", unit="mm"),
    ):
        go.Figure(fig)
    fig = charts.compare.compare_probabilities(["a", "b"], [{"x": 0.2, "y": 0.8}, {"z": 1.0}])
    assert fig["data"][0]["x"] == ["x", "y", "z"]
    assert fig["data"][1]["y"] == [0.0, 0.0, 1.0]
