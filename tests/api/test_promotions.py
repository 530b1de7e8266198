"""Four eyes: with requires_approval the champion moves only when a second manager approves
a promotion request; the requester cannot approve their own; every step audited."""

from __future__ import annotations

import pytest

from registry.catalog.services import model_version_register
from registry.conflicts import Conflict
from registry.models import Alias, AuditEvent, Event, ModelVersion, Promotion
from tests.api.conftest import error_of


@pytest.fixture
def two_versions(clinic_version, clinic_forest_bytes, clinic_csv):
    """clinic v1 (champion) and v2."""
    model_version_register(
        name="clinic", artifact=clinic_forest_bytes, reference=clinic_csv, target="high_risk"
    )
    return clinic_version.model


def champion_number() -> int:
    return Alias.objects.get(model__name="clinic", name="champion").version.number


@pytest.fixture
def guarded(two_versions, client_as):
    """clinic requiring approval, and two managers: Ann asks, Bob decides."""
    ann, bob = client_as("manager", "ann"), client_as("manager", "bob")
    answer = ann.patch("/api/v1/models/clinic/", {"requires_approval": True}, format="json")
    assert answer.status_code == 200 and answer.json()["requires_approval"] is True
    return ann, bob


def test_requiring_approval_is_audited_and_only_for_managers(two_versions, client_as):
    analyst = client_as("analyst")
    refused = analyst.patch("/api/v1/models/clinic/", {"requires_approval": True}, format="json")
    error_of(refused, 403, "permission_denied")
    manager = client_as("manager", "ann")
    manager.patch("/api/v1/models/clinic/", {"requires_approval": True}, format="json")
    event = AuditEvent.objects.get(action="model.requires_approval")
    assert event.actor.username == "ann" and event.details == {"requires_approval": True}


def test_moving_the_champion_directly_is_409_approval_required(guarded):
    ann, _ = guarded
    answer = ann.put("/api/v1/models/clinic/aliases/champion/", {"version": 2}, format="json")
    error = error_of(answer, 409, "approval_required")
    assert "requires approval" in error["message"]
    assert champion_number() == 1
    # Other aliases move freely.
    ok = ann.put("/api/v1/models/clinic/aliases/challenger/", {"version": 2}, format="json")
    assert ok.status_code == 200


def test_a_second_managers_approval_moves_the_champion_and_the_first_ones_does_not(guarded):
    ann, bob = guarded
    asked = ann.post(
        "/api/v1/models/clinic/promotions/",
        {"version": 2, "comment": "better recall on the spring data"},
        format="json",
    )
    assert asked.status_code == 201, asked.content
    request = asked.json()
    assert request["state"] == "pending" and request["requested_by"] == "ann"
    release = ann.get("/api/v1/models/clinic/release/").json()
    assert [p["id"] for p in release["promotions"]] == [request["id"]]
    assert release["requires_approval"] is True and release["champion"] == 1

    own = ann.post(f"/api/v1/models/clinic/promotions/{request['id']}/approve/", {}, format="json")
    error_of(own, 403, "permission_denied")
    assert champion_number() == 1

    approved = bob.post(
        f"/api/v1/models/clinic/promotions/{request['id']}/approve/",
        {"comment": "checked the shadow"},
        format="json",
    )
    assert approved.status_code == 200, approved.content
    assert approved.json()["state"] == "approved" and approved.json()["decided_by"] == "bob"
    assert champion_number() == 2
    audit = AuditEvent.objects.get(action="promotion.approved")
    assert audit.details["requested_by"] == "ann" and audit.details["decided_by"] == "bob"
    moved = AuditEvent.objects.filter(action="alias.set", details__alias="champion").first()
    assert moved.actor.username == "bob" and "ann" in moved.details["reason"]
    names = list(Event.objects.order_by("created_at").values_list("name", flat=True))
    assert names[-3:] == ["promotion.requested", "alias.moved", "promotion.approved"]


def test_a_rejected_request_moves_nothing_and_cannot_be_approved_after(guarded):
    ann, bob = guarded
    request = ann.post("/api/v1/models/clinic/promotions/", {"version": 2}, format="json").json()
    rejected = bob.post(
        f"/api/v1/models/clinic/promotions/{request['id']}/reject/",
        {"comment": "not yet"},
        format="json",
    )
    assert rejected.json()["state"] == "rejected"
    again = bob.post(
        f"/api/v1/models/clinic/promotions/{request['id']}/approve/", {}, format="json"
    )
    error = error_of(again, 409, "not_pending")
    assert "rejected" in error["message"]
    assert champion_number() == 1
    assert Event.objects.filter(name="promotion.rejected").count() == 1


def test_a_second_request_for_the_same_promotion_is_409(guarded):
    ann, bob = guarded
    ann.post("/api/v1/models/clinic/promotions/", {"version": 2}, format="json")
    twice = bob.post("/api/v1/models/clinic/promotions/", {"version": 2}, format="json")
    error = error_of(twice, 409, "duplicate_request")
    assert "already pending" in error["message"]
    assert Promotion.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        ({"version": 9}, 400, "invalid_input", "no version 9"),
        ({"version": 1}, 409, "conflict", "already"),
        ({"version": 0}, 400, "invalid_input", "version"),
        ({}, 400, "invalid_input", "version"),
    ],
)
def test_bad_promotion_requests_name_the_problem(guarded, body, status, code, words):
    ann, _ = guarded
    answer = ann.post("/api/v1/models/clinic/promotions/", body, format="json")
    error = error_of(answer, status, code)
    assert words in error["message"]
    assert Promotion.objects.count() == 0


def test_analysts_cannot_request_or_decide(guarded, client_as):
    ann, _ = guarded
    request = ann.post("/api/v1/models/clinic/promotions/", {"version": 2}, format="json").json()
    analyst = client_as("analyst")
    error_of(
        analyst.post("/api/v1/models/clinic/promotions/", {"version": 2}, format="json"),
        403,
        "permission_denied",
    )
    error_of(
        analyst.post(f"/api/v1/models/clinic/promotions/{request['id']}/approve/", {}),
        403,
        "permission_denied",
    )
    assert analyst.get("/api/v1/models/clinic/release/").status_code == 200


@pytest.mark.usefixtures("guarded")
def test_registering_a_version_as_champion_needs_approval_too(clinic_forest_bytes):
    with pytest.raises(Conflict, match="requires approval"):
        model_version_register(
            name="clinic",
            artifact=clinic_forest_bytes,
            interface=Alias.objects.get(name="champion").version.interface,
            alias="champion",
        )
    assert Alias.objects.get(name="champion").version.number == 1
    assert not ModelVersion.objects.filter(
        model__name="clinic", number=3
    ).exists()  # nothing half-done
