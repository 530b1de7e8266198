"""What calls cost: rows scored per window and rows stored per day, per user, on every face.

The counts are the real ones (the database's RateCount rows here; Redis in
``tests/portal/test_budgets_redis.py``), through the real views.
"""

from __future__ import annotations

import re

import pytest

from portal.api.explain import SEARCH_COST
from registry.models import Prediction
from tests.api.conftest import ROW, error_of
from tests.api.test_oip import INFER, tensors_of

PREDICT = "/api/v1/models/clinic/predict/"
COMPARE = "/api/v1/compare/"
SEARCH = "/api/v1/models/clinic/counterfactuals/"


@pytest.fixture
def quota(settings):
    def change(rows: int) -> None:
        settings.PORTAL = {**settings.PORTAL, "DAILY_STORED_ROWS": rows}

    return change


def predict(client, rows: int, row=ROW):
    return client.post(PREDICT, {"inputs": [row] * rows}, format="json")


def compare(client, models: list[str], rows: int, **extra):
    return client.post(COMPARE, {"models": models, "inputs": [ROW] * rows, **extra}, format="json")


def test_rows_scored_are_budgeted_not_only_calls(clinic_version, client_as, rates):
    rates(model_rows="25/hour")
    first, second = client_as("analyst", "first"), client_as("analyst", "second")
    assert predict(first, 20).status_code == 200
    refused = predict(first, 10)
    error = error_of(refused, 429, "throttled")
    assert "at most 25 per hour" in error["message"] and "10 more" in error["message"]
    assert 0 < int(refused["Retry-After"]) <= 3600
    # A refused call is charged nothing: the 5 rows left are still there.
    assert predict(first, 5).status_code == 200
    error_of(predict(first, 1), 429, "throttled")
    assert predict(second, 25).status_code == 200  # another user's budget
    assert Prediction.objects.count() == 3


def test_a_comparison_costs_its_rows_times_its_models(clinic_version, analyst, rates):
    rates(model_rows="25/hour")
    error_of(compare(analyst, ["clinic", "clinic@1", "clinic@champion"], 10), 429, "throttled")
    assert compare(analyst, ["clinic", "clinic@1"], 10).status_code == 200
    error_of(predict(analyst, 6), 429, "throttled")
    assert predict(analyst, 5).status_code == 200


def test_a_counterfactual_search_is_charged_what_its_time_would_score(
    clinic_version, analyst, rates
):
    # An impossible search tries rows until its time is up, tens of thousands of them.
    impossible = {
        "inputs": {**ROW, "bmi": 18, "s5": 3.5, "bp": 70},
        "target": "yes",
        "fixed": ["bmi", "s5", "bp"],
        "max_changes": 3,
        "count": 10,
    }
    rates(model_rows=f"{2 * SEARCH_COST + 5}/hour")
    for _ in range(2):
        body = analyst.post(SEARCH, impossible, format="json").json()
        assert body["counterfactuals"] == [] and "rows tried" in body["message"]
    error = error_of(analyst.post(SEARCH, impossible, format="json"), 429, "throttled")
    assert f"would score {SEARCH_COST:,} more ({2 * SEARCH_COST:,} so far)" in error["message"]
    assert predict(analyst, 5).status_code == 200
    error_of(predict(analyst, 1), 429, "throttled")


def test_a_daily_quota_of_stored_rows_says_its_limit_and_when_it_resets(
    clinic_version, analyst, quota
):
    quota(30)
    assert predict(analyst, 20).status_code == 200
    refused = predict(analyst, 20)
    error = error_of(refused, 429, "quota_exceeded")
    message = error["message"]
    assert "at most 30 stored rows per user a day" in message
    assert "20 stored today" in message and "store 20 more" in message
    assert re.search(r"resets at \d{4}-\d\d-\d\d 00:00 UTC \(in (\d+ h )?\d+ min\)", message)
    assert 0 < int(refused["Retry-After"]) <= 86400
    # Refused rows and rows refused as invalid are not counted; questions store nothing.
    error_of(predict(analyst, 5, {**ROW, "sex": "x"}), 400, "invalid_input")
    whatif = analyst.post("/api/v1/models/clinic/whatif/", {"inputs": ROW}, format="json")
    assert whatif.status_code == 200
    assert compare(analyst, ["clinic", "clinic@1"], 10).status_code == 200
    error_of(compare(analyst, ["clinic", "clinic@1"], 6, save=True), 429, "quota_exceeded")
    assert compare(analyst, ["clinic", "clinic@1"], 5, save=True).status_code == 200
    assert Prediction.objects.filter(user=analyst.user).count() == 3  # 20 rows, then 2 x 5
    error_of(predict(analyst, 1), 429, "quota_exceeded")


def test_the_quota_counts_v2_inferences_too(clinic_version, analyst, quota):
    quota(4)
    token = analyst._credentials["HTTP_AUTHORIZATION"].split()[1]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def infer(rows: int):
        body = {"inputs": tensors_of([ROW] * rows)}
        return analyst.post(INFER, body, format="json", **headers)

    assert infer(3).status_code == 200
    refused = infer(2)
    assert refused.status_code == 429
    assert "at most 4 stored rows per user a day" in refused.json()["error"]
    assert int(refused["Retry-After"]) > 0
    assert infer(1).status_code == 200
