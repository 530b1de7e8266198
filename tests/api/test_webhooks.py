"""The webhooks API: managers register, list and remove webhooks and read their deliveries."""

from __future__ import annotations

import pytest

from registry.catalog.services import alias_set
from registry.models import Webhook
from tests.api.conftest import error_of
from tests.receivers import DATABASE_TASKS, Receiver, work_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def private_allowed(settings):
    settings.PORTAL = {
        **settings.PORTAL,
        "WEBHOOK_ALLOW_PRIVATE": True,
        "WEBHOOK_BACKOFF_SECONDS": 0.05,
    }


def test_a_manager_registers_lists_reads_deliveries_and_removes(
    settings, private_allowed, manager, clinic_version
):
    settings.TASKS = DATABASE_TASKS
    receiver = Receiver(secret="abc", statuses=[500, 500, 204]).start()
    try:
        made = manager.post(
            "/api/v1/webhooks/",
            {"url": receiver.url, "events": ["alias.moved"], "models": ["clinic"], "secret": "abc"},
            format="json",
        )
        assert made.status_code == 201, made.content
        hook = made.json()
        assert hook["secret"] == "abc" and hook["models"] == ["clinic"]
        listed = manager.get("/api/v1/webhooks/").json()
        assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]

        alias_set(model=clinic_version.model, name="challenger", version=clinic_version)
        work_until(lambda: len(receiver.received) == 3)
    finally:
        receiver.stop()
    log = manager.get(f"/api/v1/webhooks/{hook['id']}/deliveries/").json()
    assert [(a["attempt"], a["status_code"]) for a in log] == [(3, 204), (2, 500), (1, 500)]
    assert {a["event"] for a in log} == {"alias.moved"} and log[0]["state"] == "delivered"
    assert "secret answer" not in str(log)  # the receiver's body is never shown

    assert manager.delete(f"/api/v1/webhooks/{hook['id']}/").status_code == 204
    assert manager.get("/api/v1/webhooks/").json() == []
    # The log of a removed webhook stays readable.
    assert len(manager.get(f"/api/v1/webhooks/{hook['id']}/deliveries/").json()) == 3


def test_a_secret_is_made_when_none_is_given(private_allowed, manager):
    made = manager.post(
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1:9/", "events": ["version.registered"]},
        format="json",
    )
    assert made.status_code == 201 and len(made.json()["secret"]) >= 32


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"url": "file:///etc/passwd", "events": ["alias.moved"]}, "http or https"),
        ({"url": "gopher://example.com/", "events": ["alias.moved"]}, "http or https"),
        ({"url": "http://169.254.169.254/", "events": ["alias.moved"]}, "metadata"),
        ({"url": "http://localhost:8000/", "events": ["alias.moved"]}, "loopback"),
        ({"url": "http://example.com/", "events": ["no.such"]}, "no.such"),
        ({"url": "http://example.com/", "events": []}, "events"),
        ({"url": "http://93.184.215.14/", "events": ["alias.moved"], "models": ["nope"]}, "nope"),
    ],
)
def test_bad_webhooks_are_refused_naming_the_problem_and_nothing_is_stored(manager, body, words):
    answer = manager.post("/api/v1/webhooks/", body, format="json")
    error = error_of(answer, 400, "invalid_input")
    assert words in error["message"] + str(error["fields"])
    assert Webhook.objects.count() == 0


def test_only_managers_handle_webhooks(analyst):
    error_of(analyst.get("/api/v1/webhooks/"), 403, "permission_denied")
    error_of(
        analyst.post("/api/v1/webhooks/", {"url": "http://x/", "events": []}, format="json"),
        403,
        "permission_denied",
    )
