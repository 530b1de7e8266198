"""The monitoring page of a model: traffic, drift and performance of one version."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from portal.charting.monitoring import monitoring_figures
from portal.pages.access import model_or_404, role_required, version_or_404
from registry import roles
from registry.catalog.selectors import model_version_list
from registry.models import Source
from registry.monitoring.report import monitoring_report
from registry.monitoring.stats import DEFAULT_DAYS, DEFAULT_SOURCES
from registry.monitoring.verdict import input_change_words
from registry.monitoring.windows import period_parse
from registry.runtime import version_interface

PERIODS = [(1, "Last 24 hours"), (7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days")]


@role_required(roles.VIEWER)  # as the API's monitoring: traffic and inputs are data
@require_GET
def monitor(request: HttpRequest, name: str) -> HttpResponse:
    model = model_or_404(name)
    version = version_or_404(model, request.GET)
    interface = version_interface(version)
    try:
        days = int(request.GET.get("days") or DEFAULT_DAYS)
    except ValueError:
        days = 0
    sources = request.GET.getlist("source") or list(DEFAULT_SOURCES)
    segment = request.GET.get("segment") or ""
    ctx = {
        "model": model,
        "version": version,
        "versions": list(model_version_list(model=model)),
        "periods": PERIODS,
        "days": days,
        "sources": Source.choices,
        "chosen_sources": sources,
        "segments": [
            (f"{f.name}:{choice}", f"{f.spec.get('label') or f.name} = {choice}")
            for f in interface.fields
            if f.type == "category"
            for choice in f.choices
        ],
        "segment": segment,
        "labels": {f.name: f.spec.get("label") or f.name for f in interface.fields},
        "errors": None,
    }
    status = 200
    try:
        if days not in dict(PERIODS):
            raise ValidationError({"days": ["Choose one of the periods offered."]})
        now = timezone.now()
        since = now - dt.timedelta(days=days)
        if days > 1:  # whole UTC days, as the API's default: past days' figures are kept
            since = (since + dt.timedelta(days=1)).astimezone(dt.UTC)
            since = since.replace(hour=0, minute=0, second=0, microsecond=0)
        period = period_parse(
            version=version,
            since=since.isoformat(),
            until=now.isoformat(),
            sources=sources,
            segment=segment,
        )
    except ValidationError as exc:
        ctx["errors"] = exc.message_dict
        status = 400
    else:
        report = monitoring_report(version=version, period=period, with_distributions=True)
        ctx["report"] = report
        ctx["figures"] = monitoring_figures(version, report)
        ctx["drifted"] = [r["input"] for r in report["drift"]["inputs"] if r["drifted"]]
        ctx["moves"] = {r["input"]: input_change_words(r) for r in report["drift"]["inputs"]}
    return render(request, "portal/monitor.html", ctx, status=status)
