"""Fairness on the model card: which inputs are sensitive and which answer is favourable,
set by a manager without a new version (one POST, audited, back to the card's section)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.charting.fairness import fairness_figures
from portal.pages.access import model_or_404, role_required, version_or_404
from registry import roles
from registry.fairness.selectors import fairness_report
from registry.fairness.services import (
    fairness_read,
    favourable_text,
    recourse_request,
    version_favourable_set,
    version_sensitive_set,
)
from registry.interface import Interface
from registry.models import ModelVersion


def card_context(version: ModelVersion, user) -> dict[str, Any]:
    """What the card's Fairness section shows: the report on the reference rows with its
    figures, the gap over time from answers with feedback, and the form's choices."""
    report = fairness_read(version=version, user=user)
    if report["inputs"]:
        over_time = {
            e["input"]: e["over_time"]
            for e in fairness_report(version=version, on="feedback")["inputs"]
        }
        for entry in report["inputs"]:
            entry["over_time"] = over_time.get(entry["input"], [])
    for entry, charted in zip(report["inputs"], fairness_figures(report), strict=True):
        entry["figures"] = charted["figures"]
    interface = Interface(version.interface)
    favourable = interface.output.get("favourable")
    return {
        "report": report,
        "favourable_json": json.dumps(favourable) if favourable is not None else "",
        "candidates": [
            (f.name, f.spec.get("label") or f.name, f.sensitive, False) for f in interface.fields
        ]
        + [(k["name"], k["label"], k["sensitive"], True) for k in interface.kept],
        "favourable": favourable,
        "favourable_text": favourable_text(favourable) if favourable is not None else "",
        "classes": [str(c) for c in interface.classes],
    }


def _favourable(raw: str, interface: Interface) -> Any:
    if raw == "":
        return None
    if interface.task == "classification":
        return raw
    try:
        return json.loads(raw)  # a range, as the API takes it: {"min": 100}
    except json.JSONDecodeError:
        raise ValidationError({"favourable": ['Give a range as {"min": …, "max": …}.']}) from None


@role_required(roles.MANAGER)
@require_POST
def fairness_set(request: HttpRequest, name: str) -> HttpResponse:
    model = model_or_404(name)
    version = version_or_404(model, request.GET)
    card = f"{reverse('model_card', args=[model.name])}?version={version.number}#fairness"
    interface = Interface(version.interface)
    wanted = set(request.POST.getlist("sensitive"))
    names = [f.name for f in interface.fields] + [k["name"] for k in interface.kept]
    try:
        for column in names:
            version, _ = version_sensitive_set(
                version=version, name=column, sensitive=column in wanted, user=request.user
            )
        if "favourable" in request.POST:
            version = version_favourable_set(
                version=version,
                favourable=_favourable(request.POST["favourable"].strip(), interface),
                user=request.user,
            )
    except ValidationError as exc:
        for field, problems in exc.message_dict.items():
            for problem in problems:
                messages.error(request, f"{field}: {problem}")
        return redirect(card)
    recourse_request(version=version, user=request.user)  # the worker starts on it now
    messages.success(
        request, f"Saved version {version.number}'s fairness settings (no new version)."
    )
    return redirect(card)
