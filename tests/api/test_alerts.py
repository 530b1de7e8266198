"""/api/v1/models/{name}/alerts/: managers make and remove rules, viewers read their state."""

from __future__ import annotations

import pytest

from tests.api.conftest import error_of

URL = "/api/v1/models/clinic/alerts/"


def test_a_manager_makes_a_rule_a_viewer_reads_it_and_its_state(clinic_version, manager, viewer):
    made = manager.post(
        URL,
        {"when": "latency_p99", "threshold": 250, "emails": ["ops@example.com"]},
        format="json",
    )
    assert made.status_code == 201, made.content
    rule = made.json()
    assert (rule["when"], rule["threshold"], rule["state"]) == ("latency_p99", 250.0, "ok")
    assert rule["last_change"] is None and rule["webhooks"] == []
    listed = viewer.get(URL).json()
    assert [r["id"] for r in listed] == [rule["id"]]
    assert error_of(viewer.delete(f"{URL}{rule['id']}/"), 403, "permission_denied")
    assert manager.delete(f"{URL}{rule['id']}/").status_code == 204
    assert viewer.get(URL).json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"when": "weather"}, "when"),
        ({"when": "refused_rate"}, "threshold"),
        ({"when": "refused_rate", "threshold": "NaN"}, "threshold"),
        ({"when": "refused_rate", "threshold": 3}, "threshold"),
        ({"when": "drift", "webhooks": [999]}, "webhooks"),
        ({"when": "drift", "emails": ["not an address"]}, "emails"),
    ],
)
def test_a_bad_rule_is_a_400_naming_the_field(clinic_version, manager, body, field):
    error = error_of(manager.post(URL, body, format="json"), 400, "invalid_input")
    assert field in error["fields"]


def test_viewers_cannot_add_rules_and_unknown_models_are_404(clinic_version, viewer, manager):
    error_of(viewer.post(URL, {"when": "drift"}, format="json"), 403, "permission_denied")
    error_of(manager.get("/api/v1/models/nope/alerts/"), 404, "not_found")
    error_of(manager.delete(f"{URL}12345/"), 404, "not_found")
