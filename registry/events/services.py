"""Writes: events published, webhooks registered and removed.

An event is recorded in the caller's transaction with one delivery per webhook that hears of
it; the deliveries are handed to the task worker when that transaction commits, so nothing is
sent from a request and nothing is sent for a change that was rolled back.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from registry import roles
from registry.events.addresses import webhook_target
from registry.events.tasks import webhook_deliver
from registry.models import (
    Event,
    ModelVersion,
    RegisteredModel,
    Webhook,
    WebhookDelivery,
)

# The events there are; a webhook names those it hears of.
EVENTS = (
    "version.registered",
    "alias.moved",
    "promotion.requested",
    "promotion.approved",
    "promotion.rejected",
    "canary.ended",
    "shadow.verdict",
    "alert.fired",
    "alert.resolved",
)

MAX_SECRET = Webhook._meta.get_field("secret").max_length
MAX_URL = Webhook._meta.get_field("url").max_length


def event_publish(
    *,
    event: str,
    model: RegisteredModel | None,
    version: ModelVersion | None = None,
    data: Mapping[str, Any],
) -> Event:
    """Record ``event`` and queue its delivery to every webhook that hears of it.

    Deliveries go to the task worker once the caller's transaction commits.
    """
    if event not in EVENTS:
        raise ValueError(f"Unknown event {event!r}.")  # a bug in the caller, not bad input
    with transaction.atomic():
        record = Event.objects.create(name=event, model=model, version=version, data=dict(data))
        # Webhooks are few; which events each hears of is read here (SQLite has no JSON
        # containment lookup).
        scope = (
            Q(for_models=None) | Q(for_models=model) if model is not None else Q(for_models=None)
        )
        hooks = [
            hook
            for hook in Webhook.objects.filter(scope, removed_at=None).distinct()
            if event in hook.events
        ]
        deliveries = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(webhook=hook, event=record) for hook in hooks
        )
        ids = [str(d.pk) for d in deliveries]
        if ids:
            transaction.on_commit(lambda: [webhook_deliver.enqueue(pk) for pk in ids])
    return record


def _events_check(events: Sequence[str]) -> list[str]:
    if not events:
        raise ValidationError({"events": ["Name at least one event."]})
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise ValidationError(
            {"events": [f"Unknown event {unknown[0]!r}; known: {', '.join(EVENTS)}."]}
        )
    return list(dict.fromkeys(events))


def webhook_create(
    *,
    url: str,
    events: Sequence[str],
    models: Sequence[str] = (),
    secret: str = "",
    user: User | AnonymousUser | None,
) -> tuple[Webhook, str]:
    """Register a webhook; returns it and its secret (made here when none is given).

    The URL is checked (scheme, and every address its host resolves to) before anything is
    stored, as it is again at each delivery.
    """
    if len(url) > MAX_URL:
        raise ValidationError({"url": [f"Use at most {MAX_URL} characters for the URL."]})
    webhook_target(url)
    names = _events_check(events)
    if len(secret) > MAX_SECRET:
        raise ValidationError({"secret": [f"Use at most {MAX_SECRET} characters for the secret."]})
    wanted = list(dict.fromkeys(models))
    found = list(RegisteredModel.objects.filter(name__in=wanted))
    missing = sorted(set(wanted) - {m.name for m in found})
    if missing:
        raise ValidationError({"models": [f"No model is named '{missing[0]}'."]})
    secret = secret or secrets.token_urlsafe(32)
    with transaction.atomic():
        hook = Webhook.objects.create(
            url=url, events=names, secret=secret, created_by=roles.acting_user(user)
        )
        hook.for_models.set(found)
    return hook, secret


def webhook_remove(*, webhook: Webhook) -> None:
    """Stop a webhook: nothing more is sent to it; its delivery log stays readable."""
    Webhook.objects.filter(pk=webhook.pk, removed_at=None).update(removed_at=timezone.now())
