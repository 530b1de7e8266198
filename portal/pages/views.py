"""The portal's pages: one function view and one template per page.

Views read with selectors, write with services, draw with portal.charting, and render; the
what-if page's script asks the same view for its answer and figures as JSON.
"""

from __future__ import annotations

import csv
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.authtoken.models import Token

import charts
from portal.charting.catalog import evaluation_figures
from portal.charting.explain import explanation_figure
from portal.charting.predict import (
    answer_figure,
    class_choices,
    class_followed,
    focus_of,
    heatmap_figure,
    labelled_warnings,
    sensitivity_figure,
    sensitivity_panels,
)
from portal.pages import actionability
from portal.pages.access import model_or_404, role_required, throttled, version_or_404
from portal.pages.forms import HistoryFilterForm, InterfaceForm, form_data, query_values
from portal.pages.live import columns_of, live_json, wants_json
from portal.pages.timing import Phases
from portal.templatetags.portal import answer_summary
from portal.web.sharing import share_token, shared_prediction
from portal.web.throttles import EmbedThrottle, ModelCallThrottle, RowBudget
from registry import roles
from registry.batch.files import csv_safe
from registry.catalog.selectors import (
    CHAMPION,
    alias_map,
    audit_events,
    headline_metric,
    model_version_list,
    registered_model_list,
    tag_list,
)
from registry.explain.counterfactuals import MARGIN_POINTS
from registry.explain.services import prediction_explanation_keep
from registry.interface import InvalidInput
from registry.models import Source, Task
from registry.monitoring.report import monitoring_statuses
from registry.predict.selectors import (
    model_use,
    prediction_curves,
    prediction_get,
    usage_by_day,
)
from registry.predict.selectors import (
    prediction_list as predictions_visible,
)
from registry.predict.services import (
    MAX_GRID_POINTS,
    prediction_feedback_set,
    prediction_share_reset,
    whatif_run,
)
from registry.runtime import version_interface, version_method

SWEEP_POINTS = 25
# The history download's bound: the newest this many of the filtered predictions (a year of
# a busy user's calls; a narrower date range gets the rest).
HISTORY_CSV_MAX_ROWS = 10_000
USE_DAYS = 14  # the window of "use" on the dashboard and the model tiles
FIRST_PANELS = 9  # small multiples drawn before "show all": three rows of three


def _attach_monitoring(models: list) -> None:
    """Each champion's monitoring status (cached per version for a few minutes)."""
    champions = {
        a.version.pk: (m, a.version) for m in models for a in m.aliases.all() if a.name == CHAMPION
    }
    statuses = monitoring_statuses(versions=[v for _, v in champions.values()])
    for pk, (model, _) in champions.items():
        model.monitor = statuses.get(pk)


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
                    "metric": charts.evaluation.METRIC_LABELS[model.headline["key"]],
                    "value": model.headline["value"],
                }
            )
    days, usage = usage_by_day(user=request.user, days=USE_DAYS)
    titles = {m.name: m.title for m in models}
    ctx = {
        "models": models,
        "headline_figure": charts.headline_metrics(headlines) if headlines else None,
        "usage_figure": charts.usage_per_day(
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
    }
    return render(request, "portal/model_card.html", ctx)


# ---------------------------------------------------------------- what-if
def _reference_row(version, index: str | None) -> dict[str, Any]:
    if index is None:
        return {}
    try:
        row = version.reference_sample[int(index)]
    except (ValueError, IndexError):
        return {}
    names = version.interface["inputs"]
    return {i["name"]: row.get(i["name"]) for i in names}


@role_required(roles.ANALYST)
@throttled(ModelCallThrottle)  # every redraw runs the model
@require_http_methods(["GET", "POST"])
def whatif(request: HttpRequest, name: str) -> HttpResponse:
    """The what-if page; its script asks the same view for JSON (``format=json``) on each
    change: the answer, each input's note, and each figure's new data, keyed as the page's
    figures are, so a figure added here is redrawn by the page without new plumbing."""
    phases = Phases()
    model = model_or_404(name)
    version = version_or_404(model, request.GET if request.method == "GET" else request.POST)
    interface = version_interface(version)
    params = request.GET if request.method == "GET" else request.POST
    values = {
        **interface.defaults(),
        **_reference_row(version, params.get("row")),
        **query_values(interface, params),
    }
    form = InterfaceForm(interface, data=form_data(values))
    form.is_valid()  # every field is optional text; the interface validates below
    x, y = params.get("x") or "", params.get("y") or ""
    pair = (x, y) if x in interface.by_name and y in interface.by_name and x != y else None
    # One class for the page: the curves, the heatmap and the explanation all follow it (a
    # multiclass model's predicted class when none is picked: known once answered).
    focus = class_followed(version, params.get("focus"))
    show_all = params.get("all") == "1"
    first, rest = sensitivity_panels(version, first=FIRST_PANELS)
    saving = request.method == "POST"
    result = None
    # Sweep only the inputs whose panels are shown.
    features = None if show_all or not rest else first
    swept = len(features or interface.names) * SWEEP_POINTS + (
        min(SWEEP_POINTS, MAX_GRID_POINTS) ** 2 if pair else 0
    )
    try:
        # The answer, its sweep, grid and explanation: one call into the model. The budget
        # counts the answer and the sweep: the explanation's rows ride in the same call, and a
        # slider moved for a minute stays well inside it.
        with RowBudget(request.user, scored=1 + swept, stored=1 if saving else 0), phases("model"):
            result = whatif_run(
                version=version,
                row=form.row(),
                user=request.user,
                source=Source.PAGE,
                features=features,
                points=SWEEP_POINTS,
                pair=pair,
                pair_class=focus,
                explain=not saving,
                explain_class=focus,
                store=saving,
                name=params.get("scenario_name", "").strip() or "Saved scenario",
            )
    except InvalidInput as exc:
        form.add_interface_errors(exc)
    except ValidationError as exc:  # the model itself could not answer these inputs
        form.add_error(None, " ".join(exc.messages))
    if result is not None and focus is None:
        focus = focus_of(version, result.answer.predictions[0])
    if saving and result is not None:
        messages.success(request, "Scenario saved. This page is its permanent link.")
        return redirect("prediction_detail", id=result.answer.prediction.id)

    columns = columns_of(params)
    ctx: dict[str, Any] = {
        "show_all": show_all,
        "hidden_panels": len(rest),
        "first_panels": len(first),
        "model": model,
        "version": version,
        "form": form,
        "result": result,
        "pair": pair,
        "x": x,
        "y": y,
        "focus": focus,
        "classes": class_choices(version),
        "columns": columns,
        "pair_inputs": [f for f in interface.fields if f.type not in ("text", "date")],
        "input_names": interface.names,
        "reference_rows": _reference_choices(version),
        "selected_row": params.get("row", ""),
        "version_param": params.get("version", ""),
        "alias_param": params.get("alias", ""),
        "figures": {},
    }
    if result is not None:
        ctx.update(
            _whatif_answer(
                version,
                result,
                pair,
                focus=focus,
                columns=columns,
                panels=(first, rest),
                phases=phases,
            )
        )
        warnings = {w["field"]: w["message"] for w in result.answer.warnings}
    else:
        warnings = {}
    ctx["fields"] = [
        {"field": form[f.name], "spec": f, "warning": warnings.get(f.name, "")}
        for f in interface.fields
    ]
    # "What would it take?" asks for another answer than this one by default.
    answered = str((ctx.get("prediction") or {}).get("label"))
    ctx["cf_target"] = next((c for c in ctx["classes"] if c != answered), None)
    ctx["cf_margin"] = MARGIN_POINTS
    with phases("render"):
        response = (
            _whatif_json(request, ctx)
            if wants_json(request)
            else render(request, "portal/whatif.html", ctx)
        )
    patch_vary_headers(response, ["Accept"])  # one URL, HTML or JSON
    return phases.send(response)


def _whatif_json(request: HttpRequest, ctx: dict[str, Any]) -> HttpResponse:
    """What the page's script redraws: the answer (rendered by the page's own partial), each
    input's warning and error, the save form's values, and the figures."""
    return live_json(
        request,
        answered=ctx["result"] is not None,
        answer=render_to_string("portal/whatif.html#answer", ctx, request=request),
        fields=ctx["fields"],
        save=ctx.get("save_values", []),
        figures=ctx["figures"],
    )


def _reference_choices(version) -> list[dict[str, Any]]:
    target = version.interface["output"].get("target")
    return [
        {
            "index": i,
            "label": f"Row {i}" + (f" ({target} = {row[target]})" if target in row else ""),
        }
        for i, row in enumerate(version.reference_sample[:25])
    ]


def _whatif_answer(
    version, result, pair, *, focus, columns, panels, phases: Phases
) -> dict[str, Any]:
    """The answer and the figures, keyed as the page's figure containers are (the answer
    first: the page's script draws them in this order)."""
    prediction = result.answer.predictions[0]
    row = result.answer.rows[0]
    first, rest = panels
    swept = {c["feature"] for c in result.curves}
    with phases("figures"):
        figures = {
            "answer": answer_figure(version, result.answer.predictions),
            "sensitivity": sensitivity_figure(
                version, result.curves, focus=focus, columns=columns, panels=first
            ),
            # Drawn only when asked for: 30 small multiples cost a phone a long scroll and
            # every redraw more time; the inputs that move the answer most come first.
            "sensitivity_rest": sensitivity_figure(
                version, result.curves, focus=focus, columns=columns, panels=rest
            )
            if rest and swept.issuperset(rest)
            else None,
            "heatmap": heatmap_figure(version, result.grid, current=(row[pair[0]], row[pair[1]]))
            if result.grid is not None
            else None,
        }
    # Why this answer: redrawn with it, beside it (none for a labels-only model, or a version
    # without reference rows).
    explanation = result.explanation
    with phases("figures"):
        figures["why"] = (
            explanation_figure(version, explanation) if explanation is not None else None
        )
    return {
        "explanation": explanation,
        "prediction": prediction,
        "confidence": _confidence(prediction),
        "save_values": [
            *[(k, str(v)) for k, v in form_data(row).items()],
            *[(k, v) for k, v in (("x", pair and pair[0]), ("y", pair and pair[1])) if v],
            *([("focus", focus)] if focus is not None else []),
            *([("all", "1")] if figures["sensitivity_rest"] else []),
            ("version", str(version.number)),
        ],
        "figures": figures,
        "warnings": labelled_warnings(version, result.answer.warnings),
    }


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
    row = prediction.inputs[0]
    params = {
        k: ("on" if v else "false") if isinstance(v, bool) else v
        for k, v in row.items()
        if v is not None
    }
    params["version"] = prediction.version.number
    return f"{reverse('whatif', args=[prediction.version.model.name])}?{urlencode(params)}"


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
        ctx["confidence"] = _confidence(prediction.outputs[0])
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


def _confidence(output: dict[str, Any]) -> float | None:
    """The probability of the class answered, as the what-if headline shows it (None for a
    value, or a classifier without probabilities)."""
    return (output.get("probabilities") or {}).get(str(output.get("label")))


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
        "confidence": _confidence(prediction.outputs[0]) if prediction.row_count == 1 else None,
        # The sentence only: the waterfall would not fit the 640x420 frame (embed.html).
        "explanation": prediction_explanation_keep(prediction=prediction),
    }
    return render(request, "portal/embed.html", ctx)


# ---------------------------------------------------------------- profile
@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    token = Token.objects.filter(user=request.user).first()
    # The key is shown in clear once, on the visit right after it was made (a screen shared
    # later, or a shoulder, sees only its last characters); a lost key is replaced.
    fresh = request.session.pop(FRESH_TOKEN_KEY, None)
    ctx = {
        "token": token,
        "token_shown": token is not None and fresh == token.key,
        "token_tail": token.key[-4:] if token else "",
        "role": roles.role_of(request.user),
        "confirm_replace": token is not None and request.GET.get("replace") == "1",
    }
    return render(request, "portal/profile.html", ctx)


FRESH_TOKEN_KEY = "fresh_api_token"


@login_required
@require_POST
def token_reset(request: HttpRequest) -> HttpResponse:
    replaced, _ = Token.objects.filter(user=request.user).delete()
    request.session[FRESH_TOKEN_KEY] = Token.objects.create(user=request.user).key
    messages.success(
        request,
        "A new API token was made; the old one no longer works."
        if replaced
        else "Your API token is ready: copy it into the program that calls the API.",
    )
    return redirect("profile")
