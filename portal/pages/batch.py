"""Batch pages: upload a CSV, watch its job, see and download the results, list the jobs."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from portal.charting.batch import job_figures
from portal.charting.predict import labelled_warnings
from portal.pages.access import model_or_404, role_required, throttled, version_or_404
from portal.web.downloads import NoResult, job_result_response
from portal.web.throttles import BatchUploadThrottle
from registry import roles
from registry.batch import files as batch_files
from registry.batch.files import csv_safe
from registry.batch.jobs import batch_job_create, batch_job_refresh
from registry.batch.selectors import batch_job_get, batch_job_list, batch_result_head
from registry.catalog.selectors import model_version_list
from registry.limits import PayloadTooLarge
from registry.runtime import version_interface


@role_required(roles.ANALYST)
@throttled(BatchUploadThrottle, methods=("POST",))
@require_http_methods(["GET", "POST"])
def batch(request: HttpRequest, name: str) -> HttpResponse:
    model = model_or_404(name)
    version = version_or_404(model, request.GET if request.method == "GET" else request.POST)
    interface = version_interface(version)
    if request.GET.get("template"):
        return _template_csv(model.name, interface)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "Choose a CSV file to upload."
        else:
            try:
                job = batch_job_create(
                    version=version, upload=upload, name=upload.name, user=request.user
                )
            except (ValidationError, PayloadTooLarge) as exc:
                error = " ".join(exc.messages)
            else:
                # No "queued" message: the job page says where the job is, and keeps saying it.
                return redirect("job_detail", id=job.pk)
    ctx = {
        "model": model,
        "version": version,
        "versions": model_version_list(model=model),
        "inputs": interface.fields,
        "error": error,
        "jobs": batch_job_list(user=request.user, model=model.name)[:10],
    }
    return render(request, "portal/batch.html", ctx, status=400 if error else 200)


def _template_csv(name: str, interface) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_safe(name) for name in interface.names])
    writer.writerow(["" if v is None else csv_safe(str(v)) for v in interface.defaults().values()])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-template.csv"'
    return response


@role_required(roles.ANALYST)
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    """The user's batch jobs (a manager's: everyone's), newest first."""
    jobs = batch_job_list(user=request.user)
    ctx = {
        "page": Paginator(jobs, 25).get_page(request.GET.get("page")),
        "sees_everyone": roles.has_role(request.user, roles.MANAGER),
    }
    return render(request, "portal/jobs.html", ctx)


def _job_or_404(request: HttpRequest, id) -> Any:
    try:
        return batch_job_get(user=request.user, id=id)
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None


@role_required(roles.ANALYST)
def job_detail(request: HttpRequest, id) -> HttpResponse:
    job = batch_job_refresh(job=_job_or_404(request, id))
    header, rows = batch_result_head(job=job) if job.output_file else ([], [])
    header, rows = _answers_first(job, header, rows)
    counts = (job.summary or {}).get("warnings", {})
    warned = (job.summary or {}).get("warned_rows", [])
    ctx = {
        "job": job,
        "model": job.version.model,
        "percent": round(100 * job.rows_done / job.rows_total) if job.rows_total else 0,
        "figures": job_figures(job) if job.output_file else {},
        "header": header,
        "rows": rows,
        "id_column": next((e["id"]["column"] for e in job.errors if e.get("id")), None),
        "warned_rows": warned,
        "warned_id_column": next((w["id"]["column"] for w in warned if w.get("id")), None),
        "warned_more": len(warned) < (job.summary or {}).get("warned_count", 0),
        # How many rows of each input lay outside the training range, by the input's label.
        "warning_counts": [
            (w["label"], w["rows"])
            for w in labelled_warnings(
                job.version,
                [{"field": name, "rows": n} for name, n in counts.items()],
            )
        ],
    }
    template = "portal/job.html#status" if request.htmx else "portal/job.html"
    return render(request, template, ctx)


@role_required(roles.ANALYST)
def job_result(request: HttpRequest, id) -> FileResponse | StreamingHttpResponse:
    job = _job_or_404(request, id)
    try:
        return job_result_response(job, rounded=request.GET.get("precision") != "full")
    except NoResult as exc:
        raise Http404(str(exc)) from None


def _answers_first(job, header: list[str], rows: list[list[str]]):
    """The preview with what the user came for first: their id column, the answers and the
    problem, then the inputs; answers rounded as in the download."""
    if not header:
        return header, rows
    answers = [
        h
        for h in header
        if h in ("prediction", batch_files.PROBLEM_COLUMN, batch_files.WARNINGS_COLUMN)
        or h.startswith("probability_")
    ]
    kept_id = batch_files.id_column(header, version_interface(job.version))
    first = ([kept_id] if kept_id else []) + answers
    order = first + [h for h in header if h not in first]
    index = {h: i for i, h in enumerate(header)}
    decimals = batch_files.result_decimals(job.version)
    places = {i: decimals[h] for i, h in enumerate(order) if h in decimals}
    picked = [[row[index[h]] if index[h] < len(row) else "" for h in order] for row in rows]
    return order, [batch_files.round_cells(row, places) for row in picked]
