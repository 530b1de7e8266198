"""Writes of a release: a shadow version started and stopped, a canary started and ended."""

from __future__ import annotations

import math

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from registry import roles
from registry.catalog.selectors import CHAMPION
from registry.conflicts import Conflict
from registry.events.services import event_publish
from registry.models import Alias, AuditEvent, Canary, ModelVersion, RegisteredModel, Shadow
from registry.releases.selectors import shadow_report


def _challenger_of(model: RegisteredModel, number: int, what: str) -> ModelVersion:
    """Version ``number`` of ``model``, checked to be neither unknown nor the champion."""
    version = ModelVersion.objects.filter(model=model, number=number).first()
    if version is None:
        raise ValidationError({"version": [f"{model.name} has no version {number}."]})
    if version.archived_at is not None:
        raise ValidationError({"version": [f"Version {number} is archived."]})
    champion = Alias.objects.filter(model=model, name=CHAMPION).values_list("version_id", flat=True)
    champion_id = champion.first()
    if champion_id is None:
        raise Conflict(f"{model.name} has no champion for a {what} to be compared with.")
    if champion_id == version.pk:
        raise ValidationError(
            {"version": [f"Version {number} is the champion; a {what} must be another version."]}
        )
    return version


@transaction.atomic
def shadow_start(
    *, model: RegisteredModel, number: int, share: float = 1.0, user: User | AnonymousUser | None
) -> Shadow:
    """Let version ``number`` also answer ``share`` of the champion's API, /v2/ and batch
    calls, in the background (a live shadow of the model is replaced)."""
    if not (isinstance(share, int | float) and math.isfinite(share) and 0 < share <= 1):
        raise ValidationError({"share": ["Give a share of calls above 0 and at most 1."]})
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    version = _challenger_of(model, number, "shadow")
    live = Shadow.objects.filter(model=model, ended_at=None).first()
    if live is not None:
        _shadow_end(live, user)
    shadow = Shadow.objects.create(
        model=model, version=version, share=float(share), started_by=roles.acting_user(user)
    )
    AuditEvent.objects.create(
        actor=roles.acting_user(user),
        action=AuditEvent.Action.SHADOW_STARTED,
        model=model,
        version=version,
        details={"shadow": shadow.pk, "share": shadow.share},
    )
    return shadow


def _shadow_end(shadow: Shadow, user: User | AnonymousUser | None) -> None:
    shadow.summary = shadow_report(shadow=shadow)
    shadow.ended_at = timezone.now()
    shadow.save(update_fields=["summary", "ended_at"])
    AuditEvent.objects.create(
        actor=roles.acting_user(user),
        action=AuditEvent.Action.SHADOW_STOPPED,
        model=shadow.model,
        version=shadow.version,
        details={"shadow": shadow.pk, "comparison": shadow.summary},
    )


@transaction.atomic
def shadow_stop(*, model: RegisteredModel, user: User | AnonymousUser | None) -> Shadow:
    """Stop the live shadow; its comparison is kept with it and in the audit trail."""
    shadow = Shadow.objects.select_for_update().filter(model=model, ended_at=None).first()
    if shadow is None:
        raise Shadow.DoesNotExist(f"{model.name} has no shadow running.")
    _shadow_end(shadow, user)
    return shadow


@transaction.atomic
def canary_start(
    *,
    model: RegisteredModel,
    number: int,
    percent: float,
    sticky: bool = False,
    user: User | AnonymousUser | None,
) -> Canary:
    """Let version ``number`` answer ``percent`` of the calls naming no version or alias
    (per call, or per caller when ``sticky``); a live canary of the model is replaced."""
    if not (isinstance(percent, int | float) and math.isfinite(percent) and 0 < percent <= 100):
        raise ValidationError({"percent": ["Give a percent above 0 and at most 100."]})
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    version = _challenger_of(model, number, "canary")
    live = Canary.objects.filter(model=model, ended_at=None).first()
    if live is not None:
        canary_end(canary=live, reason=f"replaced by version {number}", user=user)
    canary = Canary.objects.create(
        model=model,
        version=version,
        percent=float(percent),
        sticky=sticky,
        started_by=roles.acting_user(user),
    )
    AuditEvent.objects.create(
        actor=roles.acting_user(user),
        action=AuditEvent.Action.CANARY_STARTED,
        model=model,
        version=version,
        details={"canary": canary.pk, "percent": canary.percent, "sticky": sticky},
    )
    return canary


@transaction.atomic
def canary_end(
    *, canary: Canary, reason: str, user: User | AnonymousUser | None = None
) -> Canary | None:
    """End a live canary (audited, ``canary.ended``); None when it had ended already."""
    canary = (
        Canary.objects.select_for_update()
        .select_related("model", "version")
        .filter(pk=canary.pk, ended_at=None)
        .first()
    )
    if canary is None:
        return None
    canary.ended_at, canary.ended_reason = timezone.now(), reason[:300]
    canary.save(update_fields=["ended_at", "ended_reason"])
    AuditEvent.objects.create(
        actor=roles.acting_user(user),
        action=AuditEvent.Action.CANARY_ENDED,
        model=canary.model,
        version=canary.version,
        details={"canary": canary.pk, "reason": canary.ended_reason},
    )
    event_publish(
        event="canary.ended",
        model=canary.model,
        version=canary.version,
        data={"canary": canary.pk, "percent": canary.percent, "reason": canary.ended_reason},
    )
    return canary


def canary_stop(*, model: RegisteredModel, user: User | AnonymousUser | None) -> Canary:
    """End the live canary of ``model`` by hand."""
    live = Canary.objects.filter(model=model, ended_at=None).first()
    ended = canary_end(canary=live, reason="ended by a manager", user=user) if live else None
    if ended is None:
        raise Canary.DoesNotExist(f"{model.name} has no canary running.")
    return ended
