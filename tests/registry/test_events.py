"""Events and webhooks: signed deliveries sent by the task worker to a real receiver,
retried on 5xx with backoff, each attempt logged; URLs that would reach this host's
insides refused at registration and again at delivery."""

from __future__ import annotations

import json
import socket

import pytest
from django.core.exceptions import ValidationError

from registry.catalog.services import alias_set
from registry.events.addresses import webhook_target
from registry.events.services import event_publish, webhook_create
from registry.models import DeliveryAttempt, DeliveryState, Event, WebhookDelivery
from tests.conftest import clinic_register
from tests.receivers import DATABASE_TASKS, Receiver, work_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_settings(settings):
    settings.TASKS = DATABASE_TASKS
    settings.PORTAL = {
        **settings.PORTAL,
        "WEBHOOK_ALLOW_PRIVATE": True,
        "WEBHOOK_BACKOFF_SECONDS": 0.05,
        "WEBHOOK_TIMEOUT": 2,
    }
    return settings


@pytest.fixture
def receiver():
    found = Receiver(secret="s3cret", statuses=[500, 500, 204]).start()
    yield found
    found.stop()


def test_a_delivery_is_signed_retried_on_5xx_and_logged_per_attempt(
    worker_settings, receiver, clinic_version
):
    hook, _ = webhook_create(url=receiver.url, events=["alias.moved"], secret="s3cret", user=None)
    alias_set(model=clinic_version.model, name="challenger", version=clinic_version)
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert receiver.received == []  # nothing sent on the caller's path

    work_until(lambda: WebhookDelivery.objects.get(pk=delivery.pk).state != "pending")

    assert WebhookDelivery.objects.get(pk=delivery.pk).state == DeliveryState.DELIVERED
    assert [r.signed for r in receiver.received] == [True, True, True]
    first = receiver.received[0]
    assert first.path == "/hooks/portal"
    assert first.headers["X-Portal-Event"] == "alias.moved"
    assert first.headers["X-Portal-Delivery"] == str(delivery.pk)
    body = json.loads(first.body)
    assert set(body) == {"id", "event", "created_at", "model", "version", "data"}
    assert body["event"] == "alias.moved" and body["model"] == "clinic"
    assert body["version"] == 1 and body["data"]["alias"] == "challenger"
    assert body["id"] == str(delivery.event_id)
    attempts = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.number, a.status_code) for a in attempts] == [(1, 500), (2, 500), (3, 204)]
    assert all(a.duration_ms >= 0 and a.error == "" for a in attempts)
    # Backoff: the retries waited (0.05 s, then 0.1 s at least).
    assert (attempts[2].at - attempts[0].at).total_seconds() >= 0.15


def test_registration_publishes_version_registered_to_hooks_of_that_model_only(
    worker_settings, receiver, clinic_forest_bytes, clinic_csv, iris_version
):
    webhook_create(
        url=receiver.url,
        events=["version.registered"],
        models=["iris"],
        secret="s3cret",
        user=None,
    )
    clinic_register(clinic_forest_bytes, clinic_csv)  # another model: not this hook's
    assert Event.objects.filter(name="version.registered").count() == 2
    assert WebhookDelivery.objects.count() == 0
    event_publish(
        event="version.registered", model=iris_version.model, version=iris_version, data={}
    )
    assert WebhookDelivery.objects.count() == 1


def _deliver_one(url, version, settings, then_private: bool = True) -> None:
    """A webhook on ``url`` (with ``then_private``: private addresses allowed at delivery
    time or not), an alias moved, and the worker run until its delivery is settled."""
    webhook_create(url=url, events=["alias.moved"], secret="s3cret", user=None)
    settings.PORTAL = {**settings.PORTAL, "WEBHOOK_ALLOW_PRIVATE": then_private}
    alias_set(model=version.model, name="challenger", version=version)
    work_until(lambda: WebhookDelivery.objects.get().state != "pending")


def test_a_receiver_that_never_answers_well_fails_after_the_attempts_allowed(
    worker_settings, clinic_version
):
    worker_settings.PORTAL = {**worker_settings.PORTAL, "WEBHOOK_ATTEMPTS": 3}
    failing = Receiver(secret="s3cret", statuses=[503]).start()
    try:
        _deliver_one(failing.url, clinic_version, worker_settings)
    finally:
        failing.stop()
    assert WebhookDelivery.objects.get().state == DeliveryState.FAILED
    assert list(DeliveryAttempt.objects.values_list("status_code", flat=True)) == [503] * 3


def test_a_redirect_is_not_followed_and_not_retried(worker_settings, receiver, clinic_version):
    elsewhere = Receiver(secret="s3cret", statuses=[204]).start()
    moving = Receiver(secret="s3cret", statuses=[302], redirect_to=elsewhere.url).start()
    try:
        _deliver_one(moving.url, clinic_version, worker_settings)
    finally:
        moving.stop()
        elsewhere.stop()
    assert WebhookDelivery.objects.get().state == DeliveryState.FAILED
    assert elsewhere.received == []
    assert list(DeliveryAttempt.objects.values_list("status_code", flat=True)) == [302]


def test_a_timeout_is_logged_as_such_and_retried(worker_settings, clinic_version):
    worker_settings.PORTAL = {
        **worker_settings.PORTAL,
        "WEBHOOK_ATTEMPTS": 2,
        "WEBHOOK_TIMEOUT": 0.3,
    }
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts connections, never answers
    try:
        _deliver_one(
            f"http://127.0.0.1:{silent.getsockname()[1]}/", clinic_version, worker_settings
        )
    finally:
        silent.close()
    assert list(DeliveryAttempt.objects.values_list("error", flat=True)) == ["timeout"] * 2


def test_delivery_time_checks_the_address_again(worker_settings, receiver, clinic_version):
    _deliver_one(receiver.url, clinic_version, worker_settings, then_private=False)
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None and "loopback" in attempt.error
    assert receiver.received == []
    assert WebhookDelivery.objects.get().state == DeliveryState.FAILED


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "http or https"),
        ("gopher://127.0.0.1:70/", "http or https"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://localhost:9/", "loopback"),
        ("http://127.0.0.1:9/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://0.0.0.0/", "not an address"),
        ("http://user:pw@example.com/", "password"),
        ("http:///nohost", "no host"),
        ("http://no-such-host.invalid/", "cannot be resolved"),
    ],
)
def test_urls_that_reach_inside_are_refused_naming_the_problem(settings, url, words):
    settings.PORTAL = {**settings.PORTAL, "WEBHOOK_ALLOW_PRIVATE": False}
    with pytest.raises(ValidationError) as caught:
        webhook_target(url)
    assert words in " ".join(caught.value.messages)


def test_link_local_stays_refused_even_when_private_addresses_are_allowed(settings):
    settings.PORTAL = {**settings.PORTAL, "WEBHOOK_ALLOW_PRIVATE": True}
    assert webhook_target("http://127.0.0.1:9/x?y=1").path == "/x?y=1"
    with pytest.raises(ValidationError, match="metadata"):
        webhook_target("http://169.254.169.254/")
