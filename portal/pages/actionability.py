"""What a person can change about each input (for "what would it take"), set by a manager on
the model card without a new version: one POST, audited, back to the card."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.pages.access import model_or_404, role_required, version_or_404
from registry import roles
from registry.catalog.services import version_actionability_set
from registry.interface import DIRECTIONS, Interface
from registry.runtime import version_interface

# One select per input: any direction, one direction, or not actionable at all.
NOT_ACTIONABLE = "fixed"
CHOICES = (*DIRECTIONS, NOT_ACTIONABLE)


def choice_of(spec: dict) -> str:
    """The select's value for an input's declared actionable/direction."""
    if not spec.get("actionable", True):
        return NOT_ACTIONABLE
    return spec.get("direction") or "any"


def _changes(params, interface: Interface) -> dict[str, dict]:
    changes = {}
    for f in interface.fields:
        raw = params.get(f"can-{f.name}")
        if raw is None:
            continue
        if raw not in CHOICES:
            raise ValidationError({f.name: [f"Choose one of: {', '.join(CHOICES)}."]})
        if raw == NOT_ACTIONABLE:
            changes[f.name] = {"actionable": False, "direction": "any"}
        else:
            changes[f.name] = {"actionable": True, "direction": raw}
    return changes


@role_required(roles.MANAGER)
@require_POST
def actionability_set(request: HttpRequest, name: str) -> HttpResponse:
    model = model_or_404(name)
    version = version_or_404(model, request.GET)
    card = f"{reverse('model_card', args=[model.name])}?version={version.number}"
    interface = version_interface(version)
    try:
        version_actionability_set(
            version=version, changes=_changes(request.POST, interface), user=request.user
        )
    except ValidationError as exc:
        for field, problems in exc.message_dict.items():
            for problem in problems:
                messages.error(request, f"{field}: {problem}")
        return redirect(card)
    messages.success(
        request, f"Saved what can change in version {version.number}'s inputs (no new version)."
    )
    return redirect(card)
