"""The admin shows promotions, webhooks and their delivery attempts, read-only, and never a
webhook's secret."""

from __future__ import annotations

from registry.events.services import webhook_create
from registry.models import DeliveryAttempt, Event, WebhookDelivery


def test_a_manager_reads_webhooks_without_their_secret(client, make_user, settings):
    settings.PORTAL = {**settings.PORTAL, "WEBHOOK_ALLOW_PRIVATE": True}
    client.force_login(make_user("mia", "manager", is_staff=True))
    hook, _ = webhook_create(
        url="http://127.0.0.1:9/hook", events=["alias.moved"], secret="do-not-show", user=None
    )
    event = Event.objects.create(name="alias.moved", data={})
    delivery = WebhookDelivery.objects.create(webhook=hook, event=event)
    DeliveryAttempt.objects.create(delivery=delivery, number=1, status_code=503, duration_ms=3)
    page = client.get(f"/admin/registry/webhook/{hook.pk}/change/").content.decode()
    assert "http://127.0.0.1:9/hook" in page and "do-not-show" not in page
    attempts = client.get("/admin/registry/deliveryattempt/").content.decode()
    assert "503" in attempts
    assert client.get("/admin/registry/promotion/").status_code == 200
