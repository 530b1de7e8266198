"""Predict: three payload formats, version choice, charts, storage, throttling."""

import json

import plotly.graph_objects as go
import pytest

from registry.catalog.services import alias_set, model_version_register
from registry.models import Prediction
from tests.api.conftest import ROW, error_of

PREDICT = "/api/v1/models/clinic/predict/"
ROWS = [ROW, {**ROW, "age": 30, "sex": "female", "region": "east"}]


def predict(client, body, path=PREDICT, **extra):
    return client.post(path, body, format="json", **extra)


def test_a_prediction_is_answered_stored_and_linked(clinic_version, analyst):
    response = predict(analyst, {"inputs": ROWS})
    assert response.status_code == 200
    body = response.json()
    stored = Prediction.objects.get()
    assert body["id"] == str(stored.id)
    assert body["url"] == f"http://testserver/predictions/{stored.id}/"
    assert (body["model"], body["version"], body["warnings"]) == ("clinic", 1, [])
    assert [p["label"] for p in body["predictions"]] == [o["label"] for o in stored.outputs]
    assert set(body["predictions"][0]["probabilities"]) == {"no", "yes"}
    assert "chart" not in body
    assert (stored.user, stored.source, stored.row_count) == (analyst.user, "api", 2)
    assert stored.inputs == ROWS


def test_the_embed_url_shows_the_graph_to_anyone_holding_it(clinic_version, analyst, anonymous):
    body = predict(analyst, {"inputs": [ROW]}).json()
    assert body["embed_url"].startswith(f"http://testserver/embed/predictions/{body['id']}/?s=")
    assert anonymous.get(body["embed_url"]).status_code == 200
    detail = analyst.get(f"/api/v1/predictions/{body['id']}/").json()
    # Links are timestamped (they expire), so two made at different moments may differ;
    # both open the same prediction.
    assert detail["embed_url"].split("?")[0] == body["embed_url"].split("?")[0]
    assert anonymous.get(detail["embed_url"]).status_code == 200


def test_the_three_payload_formats_give_the_same_answers(clinic_version, analyst):
    columns = list(ROW)
    bodies = [
        {"inputs": ROWS},
        {"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in ROWS]}},
        {"dataframe_records": ROWS},
    ]
    answers = [predict(analyst, body).json()["predictions"] for body in bodies]
    assert answers[0] == answers[1] == answers[2]
    assert Prediction.objects.count() == 3


def test_dataframe_split_accepts_mlflows_index_and_any_column_order(clinic_version, analyst):
    columns = list(reversed(ROW))
    body = {
        "dataframe_split": {"index": [0], "columns": columns, "data": [[ROW[c] for c in columns]]}
    }
    assert (
        predict(analyst, body).json()["predictions"]
        == (predict(analyst, {"inputs": [ROW]}).json()["predictions"])
    )


def test_a_regression_answers_values(diabetes_version, analyst):
    body = predict(
        analyst, {"inputs": [{"age": 50, "bmi": 30, "bp": 90}]}, "/api/v1/models/diabetes/predict/"
    ).json()
    assert set(body["predictions"][0]) == {"value"}


@pytest.fixture
def clinic_v2(clinic_version, clinic_forest_bytes):
    """Version 2 of clinic; the champion stays on version 1."""
    return model_version_register(
        name="clinic", artifact=clinic_forest_bytes, interface=clinic_version.interface
    )


@pytest.mark.parametrize(
    ("body", "query", "expected"),
    [
        ({}, "", 1),  # the champion
        ({"version": 2}, "", 2),
        ({"alias": "challenger"}, "", 2),
        ({}, "?version=2", 2),
        ({}, "?alias=challenger", 2),
        ({"version": 1}, "?version=2", 1),  # the body wins
    ],
)
def test_the_version_comes_from_body_or_query_else_the_champion(
    clinic_v2, analyst, body, query, expected
):
    alias_set(model=clinic_v2.model, name="challenger", version=clinic_v2)
    response = predict(analyst, {"inputs": [ROW], **body}, PREDICT + query)
    assert response.json()["version"] == expected
    assert Prediction.objects.get().version.number == expected


def test_without_a_champion_the_newest_version_answers(clinic_v2, analyst):
    clinic_v2.model.aliases.all().delete()
    assert predict(analyst, {"inputs": [ROW]}).json()["version"] == 2


def test_a_chart_comes_only_when_asked_as_plain_plotly_json(clinic_version, analyst):
    body = predict(analyst, {"inputs": [ROW], "chart": True}).json()
    go.Figure(body["chart"])  # Plotly's own schema accepts it
    assert "bdata" not in json.dumps(body["chart"])
    assert body["chart"]["data"][0]["type"] == "bar"


def test_an_input_outside_the_training_range_is_answered_with_a_warning(clinic_version, analyst):
    body = predict(analyst, {"inputs": [{**ROW, "bmi": 80}]}).json()
    assert body["warnings"][0]["row"] == 0 and body["warnings"][0]["field"] == "bmi"
    assert Prediction.objects.get().warnings == body["warnings"]


def test_calls_over_the_rate_are_throttled_per_user(clinic_version, client_as, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"model_calls": "2/hour"},
    }
    first, second = client_as("analyst", "first"), client_as("analyst", "second")
    assert [predict(first, {"inputs": [ROW]}).status_code for _ in range(2)] == [200, 200]
    response = predict(first, {"inputs": [ROW]})
    error_of(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    whatif = first.post("/api/v1/models/clinic/whatif/", {"inputs": ROW}, format="json")
    error_of(whatif, 429, "throttled")
    assert predict(second, {"inputs": [ROW]}).status_code == 200  # another user's budget
    assert Prediction.objects.count() == 3


def test_the_answer_is_the_response_serializers(clinic_version, analyst):
    """The view builds the answer directly; the serializer (the schema's) would say the same."""
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from portal.api.serializers import PredictResponseSerializer, predict_answer
    from registry.predict.services import prediction_run

    request = Request(APIRequestFactory().post(PREDICT))
    answer = prediction_run(version=clinic_version, rows=ROWS, user=analyst.user, source="api")
    for chart in (False, True):
        context = {"request": request, "chart": chart}
        assert predict_answer(request, answer, chart=chart) == json.loads(
            json.dumps(PredictResponseSerializer(answer, context=context).data)
        )


@pytest.mark.parametrize(
    "body",
    [
        {"inputs": ROWS},
        {"inputs": ROWS, "chart": True},
        {"inputs": ROWS, "chart": "true"},
        {"inputs": ROWS, "version": 1},
        {"inputs": "not rows"},
        {"dataframe_records": ROWS},
    ],
)
def test_a_body_checked_without_the_serializer_is_checked_alike(body):
    from portal.api.predict import _predict_request
    from portal.api.serializers import PredictRequestSerializer

    serializer = PredictRequestSerializer(data=body)
    assert serializer.is_valid()
    assert _predict_request(body) == dict(serializer.validated_data)


def test_a_token_authenticated_predict_asks_the_database_five_things(
    clinic_version, analyst, django_assert_num_queries
):
    predict(analyst, {"inputs": [ROW]})  # the process has now loaded the version
    # The token with its user and role, the version's id, the caller's rate count, its rows
    # scored and stored (one upsert for both budgets), the insert.
    with django_assert_num_queries(5):
        assert predict(analyst, {"inputs": [ROW]}).status_code == 200
