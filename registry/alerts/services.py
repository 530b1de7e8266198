"""Alert rules: made and removed by managers, evaluated by the task worker.

An evaluation changes a rule's state only when what it sees changes: ``ok`` → ``firing``
publishes ``alert.fired`` once, ``firing`` → ``ok`` publishes ``alert.resolved`` once; an
evaluation that finds the same state as before sends nothing. The change and its event are
written in one transaction with the rule locked, so two workers evaluating at once cannot
both fire. Delivery: the signed webhooks of ``registry.events`` (every webhook that hears of
alert events for the model, and the rule's own webhooks), and email to the rule's addresses
once the change is committed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from registry import roles
from registry.alerts.checks import NEEDS_THRESHOLD, THRESHOLDS, Seen, rule_check
from registry.catalog.selectors import model_version_select
from registry.events.services import event_publish
from registry.events.tasks import webhook_deliver
from registry.models import AlertRule, ModelVersion, RegisteredModel, Webhook, WebhookDelivery

log = logging.getLogger(__name__)

MAX_EMAILS = 20
MAX_RULES_PER_MODEL = 50


def alert_rule_create(
    *,
    model: RegisteredModel,
    when: str,
    threshold: float | None = None,
    webhooks: Sequence[int] = (),
    emails: Sequence[str] = (),
    user: User | AnonymousUser | None,
) -> AlertRule:
    """Make a rule, refusing (``ValidationError`` naming the field) an unknown kind, a
    threshold that is missing where needed, not finite or out of range, a webhook that is
    unknown, removed, not for this model or made by someone other than the caller or the
    model's owner, and a bad email address."""
    errors: dict[str, list[str]] = {}
    if when not in AlertRule.When.values:
        errors["when"] = [f"Unknown kind; use one of {', '.join(AlertRule.When.values)}."]
    else:
        low, high, default = THRESHOLDS[when]
        if threshold is None:
            if when in NEEDS_THRESHOLD:
                errors["threshold"] = ["Give a threshold for this kind of alert."]
            threshold = default
        elif not isinstance(threshold, int | float) or not math.isfinite(threshold):
            errors["threshold"] = ["Give a finite number."]
        elif not low <= threshold <= high:
            errors["threshold"] = [f"Give a threshold between {low:g} and {high:g}."]
    acting = roles.acting_user(user)
    found = list(Webhook.objects.filter(pk__in=list(webhooks), removed_at=None))
    unknown = sorted(set(webhooks) - {h.pk for h in found})
    if unknown:
        errors["webhooks"] = [f"No webhook {unknown[0]}."]
    else:
        for hook in found:
            allowed = {acting.pk if acting else None, model.owner_id} - {None}
            scoped = list(hook.for_models.all())
            if hook.created_by_id not in allowed or (scoped and model not in scoped):
                errors["webhooks"] = [f"Webhook {hook.pk} is not yours, or not for this model."]
                break
    if len(emails) > MAX_EMAILS:
        errors["emails"] = [f"Give at most {MAX_EMAILS} addresses."]
    else:
        for address in emails:
            try:
                validate_email(address)
            except ValidationError:
                errors["emails"] = [f"'{str(address)[:80]}' is not an email address."]
                break
    if not errors and model.alerts.count() >= MAX_RULES_PER_MODEL:
        errors["when"] = [f"A model has at most {MAX_RULES_PER_MODEL} alert rules."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        rule = AlertRule.objects.create(
            model=model,
            when=when,
            threshold=threshold,
            emails=list(dict.fromkeys(emails)),
            created_by=acting,
        )
        rule.webhooks.set(found)
    return rule


def alert_rule_remove(*, rule: AlertRule) -> None:
    """Delete a rule (a firing rule stops without a resolved event: nobody watches it)."""
    rule.delete()


def _deliver(rule: AlertRule, version: ModelVersion, event: str, seen: Seen) -> None:
    """Publish the change; the rule's own webhooks hear it too; email once committed."""
    data: dict[str, Any] = {
        "rule": rule.pk,
        "when": rule.when,
        "threshold": rule.threshold,
        "state": rule.state,
        "value": seen.value,
        "message": seen.message,
    }
    record = event_publish(event=event, model=rule.model, version=version, data=data)
    heard = set(WebhookDelivery.objects.filter(event=record).values_list("webhook_id", flat=True))
    extra = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(webhook=hook, event=record)
        for hook in rule.webhooks.filter(removed_at=None)
        if hook.pk not in heard
    )
    ids = [str(d.pk) for d in extra]
    if ids:
        transaction.on_commit(lambda: [webhook_deliver.enqueue(pk) for pk in ids])
    if rule.emails:
        word = "firing" if event == "alert.fired" else "resolved"
        subject = f"[Model Portal] {rule.model.title}: {rule.get_when_display()} alert {word}"
        body = (
            f"{rule.model.title} (version {version.number}): {seen.message}.\n"
            f"Rule {rule.pk}: {rule.get_when_display()}"
            + (f", threshold {rule.threshold:g}" if rule.threshold is not None else "")
            + f". State: {word}.\n"
        )
        recipients = list(rule.emails)
        transaction.on_commit(lambda: _email(subject, body, recipients))


def _email(subject: str, body: str, recipients: list[str]) -> None:
    if not recipients or not getattr(settings, "MAILERS", None):
        return  # no mailer configured (EMAIL_HOST): the event and the card say it anyway
    try:
        send_mail(subject, body, None, recipients)
    except Exception:  # a mail server down must not undo the alert or stop the checker
        log.exception("alert email to %s failed", recipients)


def alert_rule_evaluate(*, rule: AlertRule, now=None) -> str | None:
    """Evaluate one rule on its model's champion; returns the event published, if any."""
    now = now or timezone.now()
    version = model_version_select(model=rule.model)
    seen = rule_check(rule, version, now)
    with transaction.atomic():
        locked = AlertRule.objects.select_for_update().select_related("model").get(pk=rule.pk)
        state = AlertRule.State.FIRING if seen.firing else AlertRule.State.OK
        event = None
        if locked.state != state:
            locked.state, locked.changed_at = state, now
            event = "alert.fired" if seen.firing else "alert.resolved"
        locked.value, locked.message, locked.checked_at = seen.value, seen.message[:2000], now
        locked.save(update_fields=["state", "changed_at", "value", "message", "checked_at"])
        if event:
            _deliver(locked, version, event, seen)
    return event


def alerts_evaluate_all(*, now=None) -> dict[str, int]:
    """Evaluate every rule once; a rule that fails is logged and skipped, never stops the
    others. Returns how many were checked, fired, resolved and failed."""
    counts = {"checked": 0, "fired": 0, "resolved": 0, "failed": 0}
    for rule in AlertRule.objects.select_related("model").order_by("pk"):
        try:
            event = alert_rule_evaluate(rule=rule, now=now)
        except Exception:
            log.exception(
                "alert rule %s (%s, %s) could not be evaluated", rule.pk, rule.model, rule.when
            )
            counts["failed"] += 1
            continue
        counts["checked"] += 1
        if event == "alert.fired":
            counts["fired"] += 1
        elif event == "alert.resolved":
            counts["resolved"] += 1
    return counts
