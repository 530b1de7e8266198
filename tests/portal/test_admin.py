"""The Django admin as a manager reads it: branded, and records named, not hashed."""

from __future__ import annotations

import re

import pytest

from registry.models import AuditEvent, Prediction, Source


def _text(html: str) -> str:
    """What the page shows: the HTML less its tags (links and checkboxes carry ids)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def as_manager(client, make_user):
    manager = make_user("mia", "manager", is_staff=True, first_name="Mia", last_name="Berg")
    client.force_login(manager)
    return client, manager


def test_the_admin_is_branded(as_manager):
    client, _ = as_manager
    page = client.get("/admin/").content.decode()
    assert "<title>Registry records | Model Portal admin</title>" in page
    assert "Model Portal administration" in page and "Django administration" not in page


def test_the_lists_name_versions_and_people_not_uuids_or_hashes(as_manager, clinic_version):
    client, manager = as_manager
    answer = Prediction.objects.create(
        version=clinic_version,
        user=manager,
        source=Source.PAGE,
        inputs={},
        outputs={},
        latency_ms=2.0,
        name="Weekly check",
    )
    AuditEvent.objects.filter(version=clinic_version).update(actor=manager)

    predictions = _text(client.get("/admin/registry/prediction/").content.decode())
    assert f"clinic v{clinic_version.number} " in predictions
    assert "Mia Berg (mia)" in predictions and "Weekly check" in predictions
    assert str(answer.pk) not in predictions

    versions = _text(client.get("/admin/registry/modelversion/").content.decode())
    assert f"clinic v{clinic_version.number}" in versions
    model = _text(
        client.get(
            f"/admin/registry/registeredmodel/{clinic_version.model.pk}/change/"
        ).content.decode()
    )
    assert clinic_version.artifact_sha256 not in versions + model

    events = _text(client.get("/admin/registry/auditevent/").content.decode())
    assert f"Version registered: clinic v{clinic_version.number}" in events
    assert "Mia Berg (mia)" in events and "version.registered" not in events
