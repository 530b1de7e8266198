"""Four eyes: a model may require approval; then its champion moves only when a manager's
promotion request is approved by another manager. A small state machine, audited:
pending → approved (the alias moves) or rejected."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from registry import roles
from registry.catalog.selectors import CHAMPION
from registry.catalog.services import alias_set
from registry.conflicts import Conflict
from registry.events.services import event_publish
from registry.models import (
    Alias,
    AuditEvent,
    ModelVersion,
    Promotion,
    PromotionState,
    RegisteredModel,
)

MAX_COMMENT = 2000


def _comment_check(comment: str) -> str:
    if len(comment) > MAX_COMMENT:
        raise ValidationError({"comment": [f"Use at most {MAX_COMMENT} characters."]})
    return comment.strip()


@transaction.atomic
def model_approval_set(
    *, model: RegisteredModel, required: bool, user: User | AnonymousUser | None
) -> RegisteredModel:
    """Require (or stop requiring) a second manager's approval to move the champion."""
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    if model.requires_approval == required:
        return model
    model.requires_approval = required
    model.save(update_fields=["requires_approval"])
    AuditEvent.objects.create(
        actor=roles.acting_user(user),
        action=AuditEvent.Action.APPROVAL_SET,
        model=model,
        details={"requires_approval": required},
    )
    return model


def _version_of(model: RegisteredModel, number: int) -> ModelVersion:
    version = ModelVersion.objects.filter(model=model, number=number).first()
    if version is None:
        raise ValidationError({"version": [f"{model.name} has no version {number}."]})
    return version


def promotion_request(
    *,
    model: RegisteredModel,
    number: int,
    alias: str = CHAMPION,
    comment: str = "",
    user: User | AnonymousUser | None,
) -> Promotion:
    """Ask for ``model@alias`` to point at version ``number``; another manager decides.

    Refused (``Conflict``) when the alias already points there or the same request is
    already pending.
    """
    comment = _comment_check(comment)
    version = _version_of(model, number)
    if version.archived_at is not None:
        raise ValidationError({"version": [f"Version {number} is archived."]})
    current = Alias.objects.filter(model=model, name=alias).values_list("version_id", flat=True)
    if current.first() == version.pk:
        raise Conflict(f"{model.name}@{alias} is version {number} already.")
    try:
        with transaction.atomic():
            promotion = Promotion.objects.create(
                model=model,
                version=version,
                alias=alias,
                comment=comment,
                requested_by=roles.acting_user(user),
            )
            AuditEvent.objects.create(
                actor=roles.acting_user(user),
                action=AuditEvent.Action.PROMOTION_REQUESTED,
                model=model,
                version=version,
                details={"promotion": promotion.pk, "alias": alias, "comment": comment},
            )
            event_publish(
                event="promotion.requested",
                model=model,
                version=version,
                data=_event_data(promotion),
            )
    except IntegrityError:
        raise Conflict(
            f"A request to make version {number} {model.name}@{alias} is already pending.",
            code="duplicate_request",
        ) from None
    return promotion


def _event_data(promotion: Promotion) -> dict:
    return {
        "promotion": promotion.pk,
        "alias": promotion.alias,
        "state": promotion.state,
        "requested_by": promotion.requested_by.username if promotion.requested_by else None,
        "decided_by": promotion.decided_by.username if promotion.decided_by else None,
        "comment": promotion.comment,
        "decision_comment": promotion.decision_comment,
    }


def _decide(
    *, promotion: Promotion, approve: bool, comment: str, user: User | AnonymousUser | None
) -> Promotion:
    comment = _comment_check(comment)
    actor = roles.acting_user(user)
    with transaction.atomic():
        promotion = (
            Promotion.objects.select_for_update(of=("self",))
            .select_related("model", "version", "requested_by")
            .get(pk=promotion.pk)
        )
        if promotion.state != PromotionState.PENDING:
            raise Conflict(
                f"Promotion request {promotion.pk} was {promotion.state} already; "
                "make a new request.",
                code="not_pending",
            )
        if actor is None or promotion.requested_by_id == actor.pk:
            raise PermissionDenied(
                "Another manager must decide: the one who asked for a promotion cannot "
                "approve or reject it."
            )
        promotion.state = PromotionState.APPROVED if approve else PromotionState.REJECTED
        promotion.decided_by, promotion.decided_at = actor, timezone.now()
        promotion.decision_comment = comment
        promotion.save(update_fields=["state", "decided_by", "decided_at", "decision_comment"])
        requester = promotion.requested_by.username if promotion.requested_by else None
        AuditEvent.objects.create(
            actor=actor,
            action=(
                AuditEvent.Action.PROMOTION_APPROVED
                if approve
                else AuditEvent.Action.PROMOTION_REJECTED
            ),
            model=promotion.model,
            version=promotion.version,
            details={
                "promotion": promotion.pk,
                "alias": promotion.alias,
                "requested_by": requester,
                "decided_by": actor.username,
                "comment": comment,
            },
        )
        if approve:
            alias_set(
                model=promotion.model,
                name=promotion.alias,
                version=promotion.version,
                user=actor,
                reason=f"promotion {promotion.pk} asked by {requester}, approved by "
                f"{actor.username}",
                approved=True,
            )
        event_publish(
            event="promotion.approved" if approve else "promotion.rejected",
            model=promotion.model,
            version=promotion.version,
            data=_event_data(promotion),
        )
    return promotion


def promotion_approve(
    *, promotion: Promotion, comment: str = "", user: User | AnonymousUser | None
) -> Promotion:
    """Approve a pending request (not the requester's own): the alias moves, audited with
    both people."""
    return _decide(promotion=promotion, approve=True, comment=comment, user=user)


def promotion_reject(
    *, promotion: Promotion, comment: str = "", user: User | AnonymousUser | None
) -> Promotion:
    """Reject a pending request (not the requester's own)."""
    return _decide(promotion=promotion, approve=False, comment=comment, user=user)
