"""GET /api/v1/models/{name}/monitoring/: the report, its chart on request, its errors."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from registry.predict.services import prediction_run
from tests.api.conftest import ROW, error_of

URL = "/api/v1/models/clinic/monitoring/"


@pytest.fixture
def answered(clinic_version, make_user):
    user = make_user("caller", "analyst")
    for source in ("api", "api", "page"):
        prediction_run(version=clinic_version, rows=[ROW, ROW], user=user, source=source)
    return clinic_version


def test_a_viewer_reads_traffic_drift_and_performance(answered, viewer):
    response = viewer.get(URL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["model"], body["version"]) == ("clinic", answered.number)
    assert body["sources"] == ["api", "batch"]
    assert (body["traffic"]["answers"], body["traffic"]["rows"]) == (2, 4)
    assert set(body["traffic"]["latency_ms"]) == {"p50", "p95", "p99"}
    drift = body["drift"]
    assert drift["status"] == "not_enough_data" and drift["min_rows"] == 100
    assert {i["input"] for i in drift["inputs"]} == {"age", "sex", "bmi", "bp", "s5", "region"}
    assert {"test", "statistic", "p_value", "adjusted_p", "effect", "drifted"} <= set(
        drift["inputs"][0]
    )
    assert body["performance"] is None
    assert "chart" not in body and "distributions" not in drift


def test_the_page_source_and_the_chart_come_on_request(answered, viewer):
    body = viewer.get(URL, {"source": ["api", "page"], "chart": "true"}).json()
    assert body["traffic"]["answers"] == 3
    chart = body["chart"]
    go.Figure(chart["traffic"])
    assert len(chart["inputs"]) == 6
    for item in chart["inputs"]:
        go.Figure(item["figure"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "last week"}, "since"),
        ({"since": "2026-11-10", "until": "2026-11-01"}, "since"),
        ({"until": "9999-12-31"}, "until"),
        ({"since": "1900-01-01", "until": "1900-02-01"}, "since"),
        ({"source": "email"}, "source"),
        ({"segment": "region:atlantis"}, "segment"),
        ({"segment": "bmi:30"}, "segment"),
        ({"version": "x"}, "version"),
    ],
)
def test_a_bad_query_is_a_400_naming_the_field(answered, viewer, query, field):
    error = error_of(viewer.get(URL, query), 400, "invalid_input")
    assert field in error["fields"], error


def test_an_unknown_model_is_a_404_and_anonymous_a_401(db, viewer, anonymous):
    assert viewer.get("/api/v1/models/nothing/monitoring/").status_code == 404
    assert anonymous.get(URL).status_code == 401


def test_the_endpoint_is_in_the_openapi_schema(db, viewer):
    schema = viewer.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/models/{name}/monitoring/"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"version", "alias", "since", "until", "source", "segment", "chart"} <= names
