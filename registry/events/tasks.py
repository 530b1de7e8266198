"""Background work: sending a delivery, and trying again later when the receiver failed."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F
from django.tasks import task
from django.utils import timezone

from registry.events.addresses import webhook_target
from registry.events.sending import post, signature
from registry.models import DeliveryAttempt, DeliveryState, WebhookDelivery

log = logging.getLogger(__name__)


def delivery_body(delivery: WebhookDelivery) -> bytes:
    """The JSON a delivery sends: the event, its model and version, and its data."""
    event = delivery.event
    return json.dumps(
        {
            "id": str(event.pk),
            "event": event.name,
            "created_at": event.created_at.isoformat(),
            "model": event.model.name if event.model_id else None,
            "version": event.version.number if event.version_id else None,
            "data": event.data,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


def _attempt(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """One POST of ``delivery``: the status, or None and why none came back."""
    try:
        target = webhook_target(delivery.webhook.url)  # again: the address may have changed
    except ValidationError as exc:
        return None, f"refused: {' '.join(exc.messages)}"[:300]
    body = delivery_body(delivery)
    headers = {
        "X-Portal-Event": delivery.event.name,
        "X-Portal-Delivery": str(delivery.pk),
        "X-Portal-Signature": signature(delivery.webhook.secret, body),
    }
    try:
        return post(target, body, headers, timeout=settings.PORTAL["WEBHOOK_TIMEOUT"]), ""
    except TimeoutError:
        return None, "timeout"
    except OSError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]


def _retryable(status: int | None, error: str) -> bool:
    """A timeout, a connection that failed or a 5xx is tried again; a refused address or any
    other status is final."""
    if status is None:
        return not error.startswith("refused")
    return status >= 500


@task()
def webhook_deliver(delivery_id: str) -> None:
    """Make the next attempt of a delivery, logged; queue the one after it on failure.

    Backoff doubles from ``WEBHOOK_BACKOFF_SECONDS``. On a backend that cannot defer a task
    (the immediate one, in tests and single-process runs) the wait happens here.
    """
    while True:
        delivery = (
            WebhookDelivery.objects.select_related("webhook", "event__model", "event__version")
            .filter(pk=delivery_id, state=DeliveryState.PENDING)
            .first()
        )
        if delivery is None:
            return
        if delivery.webhook.removed_at is not None:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.FAILED)
            return
        number = delivery.attempts + 1
        started = time.perf_counter()
        status, error = _attempt(delivery)
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            status_code=status,
            error=error,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        delivered = status is not None and 200 <= status < 300
        last = number >= settings.PORTAL["WEBHOOK_ATTEMPTS"] or not _retryable(status, error)
        state = (
            DeliveryState.DELIVERED
            if delivered
            else DeliveryState.FAILED
            if last
            else DeliveryState.PENDING
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            attempts=F("attempts") + 1, state=state
        )
        log.info("delivery %s attempt %d: %s", delivery_id, number, status or error)
        if state != DeliveryState.PENDING:
            return
        wait = settings.PORTAL["WEBHOOK_BACKOFF_SECONDS"] * 2 ** (number - 1)
        if webhook_deliver.get_backend().supports_defer:
            later = timezone.now() + dt.timedelta(seconds=wait)
            webhook_deliver.using(run_after=later).enqueue(delivery_id)
            return
        time.sleep(wait)
