"""estimated_performance in GET /api/v1/models/{name}/monitoring/."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from tests.monitoring_rows import answer_reference_rows


@pytest.fixture
def answered(clinic_version, make_user):
    answer_reference_rows(clinic_version, make_user("caller"), 120)
    return clinic_version


def test_the_api_answers_the_estimate_and_its_graph(answered, viewer):
    body = viewer.get("/api/v1/models/clinic/monitoring/", {"chart": "true"}).json()
    estimated = body["estimated_performance"]
    assert estimated["method"] == "CBPE" and estimated["metric"] == "accuracy"
    point = next(p for p in estimated["series"] if p["estimate"] is not None)
    assert point["low"] <= point["estimate"] <= point["high"] and point["rows"] == 120
    assert {"start", "realized"} <= set(point)
    go.Figure(body["chart"]["estimated_performance"])
