"""Stored answers: the history list and its CSV, one answer's page, and its embed."""

from __future__ import annotations

import csv
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_http_methods

from portal.charting.explain import explanation_figure
from portal.charting.predict import (
    answer_figure,
    focus_of,
    labelled_warnings,
    sensitivity_figure,
)
from portal.pages.access import role_required, throttled
from portal.pages.forms import HistoryFilterForm
from portal.pages.whatif import SWEEP_POINTS, confidence_of, whatif_link
from portal.templatetags.portal import answer_summary
from portal.web.sharing import share_token, shared_prediction
from portal.web.throttles import EmbedThrottle, ModelCallThrottle
from registry import roles
from registry.batch.files import csv_safe
from registry.catalog.selectors import (
    registered_model_list,
)
from registry.explain.services import prediction_explanation_keep
from registry.models import Source
from registry.predict.selectors import (
    prediction_curves,
    prediction_get,
)
from registry.predict.selectors import (
    prediction_list as predictions_visible,
)
from registry.predict.services import (
    prediction_feedback_set,
    prediction_share_reset,
)

# The history download's bound: the newest this many of the filtered predictions (a year of
# a busy user's calls; a narrower date range gets the rest).
HISTORY_CSV_MAX_ROWS = 10_000


# ---------------------------------------------------------------- predictions
@role_required(roles.VIEWER)
def prediction_list(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET)
    valid = form.is_valid()  # a refused date is shown beside its box; the rest still apply
    qs = predictions_visible(user=request.user, **form.filters())
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    ctx = {
        "page": page,
        "form": form,
        "model": request.GET.get("model", ""),
        "source": request.GET.get("source", ""),
        "filtered": any(form.filters().values()),
        "sources": Source.choices,
        "model_names": registered_model_list().values_list("name", flat=True),
        "sees_everyone": roles.has_role(request.user, roles.MANAGER),
        "csv_max_rows": HISTORY_CSV_MAX_ROWS,
        "runs_jobs": roles.has_role(request.user, roles.ANALYST),
    }
    return render(request, "portal/predictions.html", ctx, status=200 if valid else 400)


class _Echo:
    """A file-like object whose write returns the line: csv.writer then yields each row."""

    def write(self, value: str) -> str:
        return value


@role_required(roles.VIEWER)
@require_GET
def prediction_csv(request: HttpRequest) -> HttpResponse:
    """The filtered history as CSV: the page's filters and visibility (the same selector),
    the newest ``HISTORY_CSV_MAX_ROWS``, streamed, formula-like cells neutralised as in a
    batch result. A refused filter shows the page with its error rather than a file."""
    form = HistoryFilterForm(request.GET)
    if not form.is_valid():
        return prediction_list(request)
    everyone = roles.has_role(request.user, roles.MANAGER)
    qs = predictions_visible(user=request.user, **form.filters())[:HISTORY_CSV_MAX_ROWS]
    header = ["id", "created_at", "model", "version", "source", "name"]
    header += ["user"] if everyone else []
    header += ["rows", "answer", "feedback"]

    def rows():
        writer = csv.writer(_Echo(), lineterminator="\n")
        yield writer.writerow(header)
        for p in qs.iterator(chunk_size=500):
            cells = [p.id, timezone.localtime(p.created_at).isoformat(timespec="seconds")]
            cells += [p.version.model.name, p.version.number, p.source, p.name]
            cells += [p.user.get_username() if p.user else ""] if everyone else []
            feedback = "" if p.feedback is None else p.feedback
            cells += [p.row_count, answer_summary(p), feedback]
            yield writer.writerow([csv_safe(str(c)) for c in cells])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="predictions.csv"'
    return response


def _prediction_or_404(request: HttpRequest, id) -> Any:
    try:
        return prediction_get(user=request.user, id=id)
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None


def whatif_url(prediction) -> str:
    """The what-if page with a stored prediction's inputs and version."""
    return whatif_link(prediction.version, prediction.inputs[0])


@role_required(roles.VIEWER)
@throttled(ModelCallThrottle, methods=("GET",))  # its sensitivity curves run the model
@require_http_methods(["GET", "POST"])
def prediction_detail(request: HttpRequest, id) -> HttpResponse:
    prediction = _prediction_or_404(request, id)
    if request.method == "POST":
        if not roles.has_role(request.user, roles.ANALYST):
            raise PermissionDenied
        if request.POST.get("action") == "share_reset":
            prediction_share_reset(prediction=prediction)
            messages.success(request, "A new share link was made; earlier links no longer work.")
            return redirect("prediction_detail", id=prediction.id)
        try:
            prediction_feedback_set(prediction=prediction, actual=request.POST.get("actual"))
            messages.success(request, "Thank you: the actual outcome is recorded.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("prediction_detail", id=prediction.id)
    version = prediction.version
    ctx: dict[str, Any] = {
        "prediction": prediction,
        "version": version,
        "model": version.model,
        "answer_figure": answer_figure(version, prediction.outputs),
        "inputs": list(zip(version.interface["inputs"], _row_values(prediction), strict=True)),
        "classes": version.interface["output"].get("classes"),
        "warnings": labelled_warnings(version, prediction.warnings),
        "can_feedback": roles.has_role(request.user, roles.ANALYST),
        "embed_days": settings.PORTAL["EMBED_LINK_MAX_AGE"] // 86400,
        "embed_url": request.build_absolute_uri(
            reverse("prediction_embed", args=[prediction.id]) + f"?s={share_token(prediction)}"
        ),
    }
    if prediction.row_count == 1:
        ctx["confidence"] = confidence_of(prediction.outputs[0])
        focus = focus_of(version, prediction.outputs[0])
        curves = prediction_curves(prediction=prediction, points=SWEEP_POINTS)
        ctx["sensitivity_figure"] = sensitivity_figure(version, curves, focus=focus)
        ctx["whatif_url"] = whatif_url(prediction)
    ctx.update(_explanation_ctx(prediction))
    return render(request, "portal/prediction_detail.html", ctx)


def _explanation_ctx(prediction) -> dict[str, Any]:
    explanation = prediction_explanation_keep(prediction=prediction)
    if explanation is None:
        return {}
    return {
        "explanation": explanation,
        "explanation_figure": explanation_figure(prediction.version, explanation),
    }


def _row_values(prediction) -> list[Any]:
    row = prediction.inputs[0]
    return [row.get(i["name"]) for i in prediction.version.interface["inputs"]]


@xframe_options_exempt
@csp_override({**settings.SECURE_CSP, "frame-ancestors": settings.EMBED_FRAME_ANCESTORS})
@throttled(EmbedThrottle, methods=("GET",))  # open to anyone with a link: per address
@require_GET
def prediction_embed(request: HttpRequest, id) -> HttpResponse:
    """One prediction's graph alone, for an iframe: for a logged-in viewer who may see it, or
    for anyone holding the signed share link."""
    token = request.GET.get("s", "")
    prediction = None
    if token:
        prediction = shared_prediction(id=id, token=token)
    elif not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.get_full_path()}")
    elif not roles.has_role(request.user, roles.VIEWER):
        raise PermissionDenied("This page needs the viewer role.")
    else:
        prediction = _prediction_or_404(request, id)
    version = prediction.version
    ctx = {
        "prediction": prediction,
        "version": version,
        "model": version.model,
        "inputs": list(zip(version.interface["inputs"], _row_values(prediction), strict=True)),
        "answer_figure": answer_figure(version, prediction.outputs),
        "confidence": confidence_of(prediction.outputs[0]) if prediction.row_count == 1 else None,
        # The sentence only: the waterfall would not fit the 640x420 frame (embed.html).
        "explanation": prediction_explanation_keep(prediction=prediction),
    }
    return render(request, "portal/embed.html", ctx)
