"""Reads of alert rules: a model's rules, and the firing ones of many models at once."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet

from registry.models import AlertRule, RegisteredModel


def alert_rule_list(*, model: RegisteredModel) -> QuerySet[AlertRule]:
    return model.alerts.prefetch_related("webhooks").order_by("pk")


def alert_rule_get(*, model: RegisteredModel, id: int) -> AlertRule:
    """One rule of ``model``; raises ``AlertRule.DoesNotExist`` with a message."""
    try:
        return model.alerts.get(pk=id)
    except AlertRule.DoesNotExist:
        raise AlertRule.DoesNotExist(f"{model.name} has no alert rule {id}.") from None


def alerts_firing(*, models: Sequence[RegisteredModel]) -> dict[int, list[AlertRule]]:
    """The firing rules of each model (by model id), in one query."""
    found: dict[int, list[AlertRule]] = {}
    firing = AlertRule.objects.filter(
        model__in=list(models), state=AlertRule.State.FIRING
    ).order_by("pk")
    for rule in firing:
        found.setdefault(rule.model_id, []).append(rule)
    return found
