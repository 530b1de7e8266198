"""A manager's release actions from the model card: ask for a promotion, approve or reject
another manager's request. POST only, each redirecting back to the card with a message."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.pages.access import model_or_404, role_required
from registry import roles
from registry.models import Promotion
from registry.releases.promotions import promotion_approve, promotion_reject, promotion_request
from registry.releases.selectors import promotion_get


def _card(name: str) -> HttpResponse:
    return redirect(reverse("model_card", args=[name]) + "#release")


def _problem(request: HttpRequest, exc: Exception) -> None:
    text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    messages.error(request, text)


@role_required(roles.MANAGER)
@require_POST
def promotion_ask(request: HttpRequest, name: str) -> HttpResponse:
    model = model_or_404(name)
    try:
        number = int(request.POST.get("version", ""))
    except ValueError:
        messages.error(request, "Choose the version to promote.")
        return _card(name)
    try:
        promotion_request(
            model=model,
            number=number,
            comment=request.POST.get("comment", ""),
            user=request.user,
        )
    except ValidationError as exc:
        _problem(request, exc)
    else:
        messages.success(request, f"Asked to make v{number} champion; another manager decides.")
    return _card(name)


@role_required(roles.MANAGER)
@require_POST
def promotion_decide(request: HttpRequest, name: str, id: int) -> HttpResponse:
    model = model_or_404(name)
    try:
        promotion = promotion_get(model=model, id=id)
    except Promotion.DoesNotExist as exc:
        _problem(request, exc)
        return _card(name)
    approve = request.POST.get("decision") == "approve"
    decide = promotion_approve if approve else promotion_reject
    try:
        decide(promotion=promotion, comment=request.POST.get("comment", ""), user=request.user)
    except (ValidationError, PermissionDenied) as exc:
        _problem(request, exc)
    else:
        number, alias = promotion.version.number, promotion.alias
        done = f"Approved: v{number} is now {alias}." if approve else f"Rejected: {alias} stays."
        messages.success(request, done)
    return _card(name)
