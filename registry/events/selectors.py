"""Reads: webhooks and their delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from registry.models import DeliveryAttempt, Webhook


def webhook_list() -> QuerySet[Webhook]:
    """The webhooks in use, newest first, with the models each is limited to."""
    return Webhook.objects.filter(removed_at=None).prefetch_related("for_models")


def webhook_get(*, id: int, removed: bool = False) -> Webhook:
    """A webhook in use (or, with ``removed``, one removed too); raises
    ``Webhook.DoesNotExist`` with a message."""
    found = Webhook.objects.all() if removed else webhook_list()
    try:
        return found.get(pk=id)
    except Webhook.DoesNotExist:
        raise Webhook.DoesNotExist(f"No webhook has id {id}.") from None


def delivery_attempts(*, webhook: Webhook, limit: int = 500) -> QuerySet[DeliveryAttempt]:
    """Every attempt to deliver to ``webhook``, newest first (at most ``limit``)."""
    return (
        DeliveryAttempt.objects.filter(delivery__webhook=webhook)
        .select_related("delivery__event")
        .order_by("-at", "-number")[:limit]
    )
