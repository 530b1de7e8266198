"""Pointing an alias (champion, challenger, any name) at a version: a confirmation page that
says what will change, then a POST that changes it (audited) and goes back where it came from.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from portal.pages.access import model_or_404, role_required, version_or_404
from registry import roles
from registry.catalog.evaluation import metric_verdict
from registry.catalog.selectors import CHAMPION, alias_map, model_version_select
from registry.catalog.services import alias_set
from registry.conflicts import Conflict
from registry.runtime import version_method


def _next_url(request: HttpRequest, params, model) -> str:
    """Where to go afterwards: a local ``next`` (the page the button was on), else the card."""
    target = params.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("model_card", args=[model.name])


def change_description(*, model, alias: str, number: int, before: int | None) -> str:
    """What pointing ``model@alias`` at version ``number`` changes, in one sentence."""
    if before == number:
        return f"{alias} already points at v{number}: nothing changes."
    moves = (
        f"{alias} moves from v{before} to v{number}"
        if before is not None
        else f"{model.name} has no {alias} yet: it will point at v{number}"
    )
    if alias == CHAMPION:
        return (
            f"{moves}; predictions that name no version will use v{number} from the next request."
        )
    return (
        f"{moves}; calls that name {model.name}@{alias} will use v{number} from the next request."
    )


def _metric_change(model, *, before: int, after) -> dict[str, Any]:
    """How the version the alias would point at scores against the one it points at now, on
    each metric both have, and a one-line warning when it is worse."""
    current = model_version_select(model=model, version=before)
    rows = [
        {
            "key": key,
            "before": current.metrics[key],
            "after": after.metrics[key],
            "verdict": metric_verdict(key, current.metrics[key], after.metrics[key]),
        }
        for key in after.metrics or {}
        if key in (current.metrics or {})
    ]
    worse = [r for r in rows if r["verdict"] == "worse"]
    warning = ""
    if rows and len(worse) == len(rows):
        warning = f"v{after.number} is worse than v{before} on every metric."
    elif worse:
        warning = f"v{after.number} is worse than v{before} on {len(worse)} of {len(rows)} metrics."
    return {"metric_rows": rows, "metric_warning": warning}


@role_required(roles.MANAGER)
@require_http_methods(["GET", "POST"])
def alias_confirm(request: HttpRequest, name: str, alias: str | None = None) -> HttpResponse:
    model = model_or_404(name)
    params = request.GET if request.method == "GET" else request.POST
    alias = alias or params.get("alias", "").strip()
    next_url = _next_url(request, params, model)
    ctx: dict[str, Any] = {"model": model, "alias": alias, "next": next_url}
    problems = []
    try:
        validate_slug(alias)
    except ValidationError:
        problems.append(
            "Name the alias with letters, numbers, hyphens or underscores (e.g. challenger)."
        )
    if not params.get("version"):
        problems.append("Choose the version the alias should point at.")
    if problems:
        ctx["problems"] = problems
        return render(request, "portal/alias_confirm.html", ctx, status=400)
    version = version_or_404(model, {"version": params.get("version")})
    before = alias_map(model=model).get(alias)
    if request.method == "POST":
        try:
            alias_set(model=model, name=alias, version=version, user=request.user)
        except Conflict as exc:  # the model requires approval: ask for it on the card
            messages.error(request, " ".join(exc.messages))
            return redirect(reverse("model_card", args=[model.name]) + "#release")
        was = f" (it was v{before})" if before not in (None, version.number) else ""
        messages.success(request, f"{model.name}@{alias} now points at v{version.number}{was}.")
        return redirect(next_url)
    version.method, _ = version_method(version)
    if before is not None and before != version.number:
        ctx.update(_metric_change(model, before=before, after=version))
    ctx.update(
        {
            "version": version,
            "before": before,
            "unchanged": before == version.number,
            "description": change_description(
                model=model, alias=alias, number=version.number, before=before
            ),
        }
    )
    return render(request, "portal/alias_confirm.html", ctx)
