"""History, one prediction, and feedback: analysts see their own, managers everyone's."""

import datetime as dt

import plotly.graph_objects as go
import pytest
from django.utils import timezone

from registry.models import Prediction
from registry.predict.services import prediction_run
from tests.api.conftest import ROW, error_of


@pytest.fixture
def history(clinic_version, diabetes_version, analyst, client_as):
    """Three predictions of the analyst (two clinic, one diabetes) and one of someone else."""
    other = client_as("analyst", "other")
    run = prediction_run
    run(version=clinic_version, rows=[ROW], user=analyst.user, source="api")
    run(version=clinic_version, rows=[ROW, ROW], user=analyst.user, source="page")
    run(
        version=diabetes_version,
        rows=[{"age": 50, "bmi": 30, "bp": 90}],
        user=analyst.user,
        source="api",
    )
    theirs = run(version=clinic_version, rows=[ROW], user=other.user, source="api")
    return {"theirs": theirs.prediction, "other": other}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["id"] for p in response.json()["results"]]


def test_an_analyst_sees_their_own_predictions_newest_first(history, analyst):
    body = analyst.get("/api/v1/predictions/").json()
    assert body["count"] == 3
    mine = Prediction.objects.filter(user=analyst.user).order_by("-created_at")
    assert [p["id"] for p in body["results"]] == [str(p.id) for p in mine]
    first = body["results"][0]
    assert (first["model"], first["version"], first["user"]) == (
        "diabetes",
        1,
        analyst.user.username,
    )
    assert "inputs" not in first  # a list leaves the rows to the detail


def test_a_manager_sees_everyones_predictions(history, manager):
    assert manager.get("/api/v1/predictions/").json()["count"] == 4


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("model=clinic", 2),
        ("model=diabetes&version=1", 1),
        ("source=page", 1),
        ("version=2", 0),
        ("model=nope", 0),
    ],
)
def test_history_filters_by_model_version_and_source(history, analyst, query, count):
    assert analyst.get(f"/api/v1/predictions/?{query}").json()["count"] == count


def test_history_filters_by_time(history, analyst):
    Prediction.objects.filter(source="page").update(
        created_at=timezone.now() - dt.timedelta(days=3)
    )
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    response = analyst.get("/api/v1/predictions/", {"since": since})
    assert response.json()["count"] == 2


def test_history_is_paginated(history, analyst):
    page = analyst.get("/api/v1/predictions/?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"].endswith("page=2&page_size=2")
    assert len(analyst.get(page["next"]).json()["results"]) == 1
    error_of(analyst.get("/api/v1/predictions/?page=9"), 404, "not_found")


@pytest.mark.parametrize("query", ["version=x", "source=email", "since=yesterday", "model=a b"])
def test_a_bad_filter_is_invalid_input(history, analyst, query):
    error_of(analyst.get(f"/api/v1/predictions/?{query}"), 400, "invalid_input")


def test_one_prediction_shows_its_rows_answers_and_chart_on_request(history, analyst):
    prediction = Prediction.objects.filter(user=analyst.user, row_count=2).get()
    body = analyst.get(f"/api/v1/predictions/{prediction.id}/").json()
    assert body["inputs"] == [ROW, ROW] and body["outputs"] == prediction.outputs
    assert body["source"] == "page" and body["feedback"] is None and "chart" not in body
    body = analyst.get(f"/api/v1/predictions/{prediction.id}/?chart=true").json()
    go.Figure(body["chart"])


def test_someone_elses_prediction_is_not_found_unless_manager(history, analyst, manager):
    path = f"/api/v1/predictions/{history['theirs'].id}/"
    error_of(analyst.get(path), 404, "not_found")
    error_of(analyst.post(path + "feedback/", {"actual": "yes"}, format="json"), 404, "not_found")
    assert manager.get(path).status_code == 200


def test_feedback_records_the_actual_outcome(history, analyst):
    prediction = Prediction.objects.filter(user=analyst.user, row_count=1).first()
    actual = "yes" if prediction.version.task == "classification" else 151.0
    body = analyst.post(
        f"/api/v1/predictions/{prediction.id}/feedback/", {"actual": actual}, format="json"
    ).json()
    assert body["feedback"] == actual and body["feedback_at"]
    prediction.refresh_from_db()
    assert prediction.feedback == actual


@pytest.mark.parametrize(
    "text",
    ['{"actual": "maybe"}', '{"actual": NaN}', '{"actual": ["yes"]}', '{"actual": null}', "{}"],
)
def test_feedback_that_does_not_fit_is_invalid_input(clinic_version, analyst, text):
    answer = prediction_run(
        version=clinic_version, rows=[ROW, ROW], user=analyst.user, source="api"
    )
    response = analyst.generic(
        "POST",
        f"/api/v1/predictions/{answer.prediction.id}/feedback/",
        text,
        content_type="application/json",
    )
    error = error_of(response, 400, "invalid_input")
    assert list(error["fields"]) == ["actual"]
    answer.prediction.refresh_from_db()
    assert answer.prediction.feedback is None


def test_an_unknown_prediction_is_not_found(db, analyst):
    error_of(
        analyst.get("/api/v1/predictions/5a0c3e52-7d4f-4f0e-9a51-0f1c2d3e4b5a/"), 404, "not_found"
    )
    error_of(analyst.get("/api/v1/predictions/not-a-uuid/"), 404, "not_found")
