"""The dashboard, the catalog of models and a model's card."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.charting.catalog import evaluation_figures, headline_figure, usage_figure
from portal.charting.releases import release_figures
from portal.pages import actionability, fairness
from portal.pages.access import model_or_404, role_required, version_or_404
from registry import roles
from registry.alerts.selectors import alerts_firing
from registry.catalog.selectors import (
    CHAMPION,
    alias_map,
    audit_events,
    headline_metric,
    model_version_list,
    registered_model_list,
    tag_list,
)
from registry.models import Task
from registry.monitoring.report import monitoring_statuses
from registry.predict.selectors import (
    model_use,
    usage_by_day,
)
from registry.predict.selectors import (
    prediction_list as predictions_visible,
)
from registry.releases.selectors import release_report
from registry.runtime import version_interface, version_method

USE_DAYS = 14  # the window of "use" on the dashboard and the model tiles


def _attach_monitoring(models: list) -> None:
    """Each champion's monitoring status (cached per version for a few minutes)."""
    champions = {
        a.version.pk: (m, a.version) for m in models for a in m.aliases.all() if a.name == CHAMPION
    }
    statuses = monitoring_statuses(versions=[v for _, v in champions.values()])
    for pk, (model, _) in champions.items():
        model.monitor = statuses.get(pk)
    firing = alerts_firing(models=models)
    for model in models:
        model.firing = firing.get(model.pk, [])


def _headline(model) -> dict[str, Any] | None:
    found = headline_metric(model.task, model.champion_metrics)
    return {"key": found[0], "value": found[1]} if found else None


# ---------------------------------------------------------------- dashboard and catalog
@role_required(roles.VIEWER)
def dashboard(request: HttpRequest) -> HttpResponse:
    models = _with_use(request, registered_model_list())
    headlines = []
    for model in models:
        if model.headline:
            headlines.append(
                {
                    "model": model.title,
                    "key": model.headline["key"],
                    "value": model.headline["value"],
                }
            )
    days, usage = usage_by_day(user=request.user, days=USE_DAYS)
    titles = {m.name: m.title for m in models}
    ctx = {
        "models": models,
        "headline_figure": headline_figure(headlines),
        "usage_figure": usage_figure(
            {titles.get(name, name): points for name, points in usage.items()}, days=days
        )
        if usage
        else None,
        "recent": predictions_visible(user=request.user)[:6],
        "use_days": USE_DAYS,
        "sees_everyone": roles.has_role(request.user, roles.MANAGER),
    }
    return render(request, "portal/dashboard.html", ctx)


def _with_use(request: HttpRequest, models) -> list:
    """The models with their headline metric and the user's use of each: the predictions the
    user may see (everyone's for a manager), as the dashboard chart and the history count."""
    use = model_use(user=request.user, days=USE_DAYS)
    models = list(models)
    for model in models:
        model.headline = _headline(model)
        found = use.get(model.name, {})
        model.last_used, model.recent_use = found.get("last"), found.get("recent", 0)
    _attach_monitoring(models)
    return models


@role_required(roles.VIEWER)
def catalog(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    task = request.GET.get("task", "")
    tag = request.GET.get("tag", "")
    models = _with_use(request, registered_model_list(search=q, task=task, tag=tag))
    ctx = {
        "models": models,
        "q": q,
        "task": task,
        "tag": tag,
        "tasks": Task.choices,
        "tags": tag_list(),
        "use_days": USE_DAYS,
    }
    return render(request, "portal/catalog.html", ctx)


# ---------------------------------------------------------------- model card
@role_required(roles.VIEWER)
def model_card(request: HttpRequest, name: str) -> HttpResponse:
    model = model_or_404(name)
    version = version_or_404(model, request.GET)
    versions = list(model_version_list(model=model))
    for v in versions:
        v.method, v.preparation_steps = version_method(v)
        if v.number == version.number:
            version.method, version.preparation_steps = v.method, v.preparation_steps
    interface = version_interface(version)
    fields = interface.fields
    ctx = {
        "model": model,
        "version": version,
        "versions": versions,
        "aliases": alias_map(model=model),
        "inputs": [(f, actionability.choice_of(f.spec)) for f in fields],
        "output": interface.output,
        # Columns no input fills are left out of the interface table.
        "show_units": any(f.spec.get("unit") for f in fields),
        "show_limits": any(f.min is not None or f.max is not None for f in fields),
        "figures": evaluation_figures(version),
        "events": audit_events(model=model),
        "can_predict": roles.has_role(request.user, roles.ANALYST),
        "firing": alerts_firing(models=[model]).get(model.pk, []),
        "fairness": fairness.card_context(version, request.user),
    }
    ctx["release"] = release = release_report(model=model)
    ctx["release_figures"] = release_figures(release)
    return render(request, "portal/model_card.html", ctx)
