"""The fairness endpoints: sensitive inputs (manager), the report (viewer), favourable answer."""

from __future__ import annotations

import io

import plotly.graph_objects as go

from registry.models import AuditEvent, ModelVersion
from tests.api.conftest import error_of

INPUT = "/api/v1/models/clinic/inputs/{}/"
FAIRNESS = "/api/v1/models/clinic/fairness/"


def test_a_manager_marks_an_input_sensitive_without_a_new_version(clinic_version, manager):
    response = manager.patch(INPUT.format("sex"), {"sensitive": True}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["input"]["sensitive"] is True and body["version"] == 1
    assert body["revision"] == clinic_version.revision + 1
    assert ModelVersion.objects.filter(model__name="clinic").count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.FAIRNESS_SET).count() == 1


def test_the_same_call_changes_what_can_change(clinic_version, manager):
    response = manager.patch(
        INPUT.format("age"), {"actionable": True, "direction": "increase"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["input"]["direction"] == "increase"


def test_it_refuses_an_unknown_input_and_an_empty_body(clinic_version, manager):
    error = error_of(
        manager.patch(INPUT.format("shoe_size"), {"sensitive": True}, format="json"),
        400,
        "invalid_input",
    )
    assert "shoe_size" in error["message"] or "shoe_size" in str(error["fields"])
    error_of(manager.patch(INPUT.format("sex"), {}, format="json"), 400, "invalid_input")


def test_only_a_manager_marks_inputs(clinic_version, viewer, analyst, anonymous):
    for client, status in ((viewer, 403), (analyst, 403), (anonymous, 401)):
        response = client.patch(INPUT.format("sex"), {"sensitive": True}, format="json")
        assert response.status_code == status


def test_a_viewer_reads_the_report_with_its_figures(clinic_version, manager, viewer):
    manager.patch(INPUT.format("sex"), {"sensitive": True}, format="json")
    response = viewer.get(FAIRNESS, {"chart": "true"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["on"] == "reference" and body["recourse_status"] == "not_available"
    (entry,) = body["inputs"]
    assert entry["input"] == "sex"
    assert {g["group"] for g in entry["groups"]} == {"female", "male"}
    for g in entry["groups"]:
        assert set(g) >= {"count", "accuracy", "selection_rate", "tpr", "fpr", "intervals"}
    assert set(entry["largest_difference"]) >= {"accuracy", "tpr", "fpr", "selection_rate"}
    (charted,) = body["chart"]
    for fig in charted["figures"].values():
        go.Figure(fig)


def test_it_refuses_an_unknown_on(clinic_version, viewer):
    error_of(viewer.get(FAIRNESS, {"on": "vibes"}), 400, "invalid_input")


def test_a_manager_names_the_favourable_answer_and_recourse_follows(
    clinic_version, manager, viewer, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("registry.fairness.recourse.SAMPLE_ROWS", 24)
    manager.patch(INPUT.format("sex"), {"sensitive": True}, format="json")
    error_of(manager.patch(FAIRNESS, {"favourable": "maybe"}, format="json"), 400, "invalid_input")
    assert viewer.patch(FAIRNESS, {"favourable": "no"}, format="json").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.patch(FAIRNESS, {"favourable": "no"}, format="json")
    assert response.status_code == 200, response.content
    body = viewer.get(FAIRNESS).json()
    assert body["favourable"] == "no" and body["recourse_status"] == "succeeded"
    (entry,) = body["inputs"]
    assert sum(r["rows"] for r in entry["recourse"]) == 24


def test_a_column_kept_at_registration_can_be_marked(
    db, manager, clinic_forest_bytes, clinic_frame
):
    frame = clinic_frame.copy()
    frame["age_band"] = (frame["age"] // 20 * 20).astype(str)
    csv = io.BytesIO(frame.to_csv(index=False).encode())
    csv.name = "reference.csv"
    model = io.BytesIO(clinic_forest_bytes)
    model.name = "clinic.skops"
    response = manager.post(
        "/api/v1/models/",
        {
            "name": "clinic",
            "artifact": model,
            "reference_data": csv,
            "target": "high_risk",
            "keep": ["age_band"],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["interface"]["kept"][0]["name"] == "age_band"
    response = manager.patch(INPUT.format("age_band"), {"sensitive": True}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["input"] == {"name": "age_band", "label": "Age band", "sensitive": True}
