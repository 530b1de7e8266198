"""The compare page (the same inputs through several models, side by side) and the version
diff of one model.

The set of models lives in the URL only (repeated ``m=name@version``), so every link and form
that changes it is a plain GET, and a comparison's address reproduces it with its inputs. As
inputs change, the page's script (static/js/whatif.js, the what-if page's) asks this view for
JSON (``format=json``) and redraws in place, as on the what-if page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from portal.charting.compare import (
    comparison_answer_figure,
    comparison_sensitivity_figure,
    disagreement_figure,
    reference_figures,
)
from portal.charting.predict import curves_with_y, focus_of, value_range
from portal.pages.access import model_or_404, role_required, throttled
from portal.pages.forms import InterfaceForm, form_data, query_values
from portal.pages.live import columns_of, live_json, wants_json
from portal.pages.timing import Phases
from portal.pages.whatif import SWEEP_POINTS, query_value, whatif_link
from portal.web.throttles import ModelCallThrottle, RowBudget
from registry import roles
from registry.catalog.evaluation import metric_verdict
from registry.catalog.selectors import (
    model_version_list,
    model_version_parse,
    model_version_select,
    registered_model_list,
)
from registry.compare.comparison import (
    MAX_MODELS,
    MIN_MODELS,
    ComparisonPlan,
    ComparisonWhatIf,
    ReferenceComparison,
    comparison_plan,
    comparison_reference,
    comparison_whatif,
    model_version_diff,
)
from registry.interface import InvalidInput
from registry.models import ModelVersion, Source

# The comparison a user is building, so "Add to comparison" on any page adds to it.
SESSION_KEY = "portal.compare"


def _compare_url(specs: list[str], **values: Any) -> str:
    query = urlencode([*(("m", s) for s in specs), *values.items()])
    return f"{reverse('compare')}?{query}" if query else reverse("compare")


def _picker(chosen: list[ModelVersion | None]) -> list[dict[str, Any]]:
    """The models and versions that could join the comparison, for the "add" select: of the
    same task as the first one chosen, and not chosen already."""
    present = [v for v in chosen if v is not None]
    task = present[0].model.task if present else None
    taken = {(v.model.name, v.number) for v in present}
    groups = []
    for model in registered_model_list(task=task or ""):
        versions = [
            {
                "spec": f"{model.name}@{number}",
                "label": f"v{number}" + "".join(f" · {a}" for a in aliases),
            }
            for number, aliases in _versions_with_aliases(model)
            if (model.name, number) not in taken
        ]
        if versions:
            groups.append({"model": model, "versions": versions})
    return groups


def _task_of(spec: str) -> str | None:
    try:
        return model_version_parse(spec=spec).model.task
    except (ValidationError, ObjectDoesNotExist):
        return None


def _display_names(plan: ComparisonPlan) -> dict[str, str]:
    """What legends call each member: its title and version ("Breast cancer diagnosis v2")."""
    return {m.label: f"{m.version.model.title} v{m.version.number}" for m in plan.members}


def _versions_with_aliases(model) -> list[tuple[int, list[str]]]:
    aliases: dict[int, list[str]] = {}
    for alias in model.aliases.all():
        aliases.setdefault(alias.version.number, []).append(alias.name)
    numbers = range(model.latest_number or 0, 0, -1)
    return [(n, aliases.get(n, [])) for n in numbers]


def _resolve(specs: list[str]) -> tuple[list[ModelVersion | None], list[str], int]:
    """The version each spec names (None where it names none), the reasons, and a status:
    400 for a malformed spec, 404 for a model, version or alias that does not exist."""
    versions: list[ModelVersion | None] = []
    problems: list[str] = []
    statuses = {200}
    for spec in specs:
        try:
            versions.append(model_version_parse(spec=spec))
            continue
        except ValidationError as exc:
            problems.extend(exc.messages)
            statuses.add(400)
        except ObjectDoesNotExist as exc:
            problems.append(str(exc))
            statuses.add(404)
        versions.append(None)
    return versions, problems, 400 if 400 in statuses else max(statuses)


@role_required(roles.ANALYST)
@throttled(ModelCallThrottle)
@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    specs = [s.strip() for s in request.GET.getlist("m") if s.strip()]
    added = [s.strip() for s in request.GET.getlist("add") if s.strip()]
    if added:
        # "Add to comparison" from a tile or a model card: onto the set being built.
        base = specs or request.session.get(SESSION_KEY, [])
        if base and _task_of(base[0]) != _task_of(added[0]):
            # Another task cannot join this set: the click starts a new comparison.
            messages.info(request, "A new comparison: the models chosen before do another task.")
            base = []
        return redirect(_compare_url([*base, *(s for s in added if s not in base)]))
    redraw = wants_json(request)
    if not redraw:
        request.session[SESSION_KEY] = specs[:MAX_MODELS]
    versions, problems, status = _resolve(specs)
    plan = None
    if not problems and len(specs) >= MIN_MODELS:
        try:
            plan = comparison_plan(versions=versions, names=specs)
        except ValidationError as exc:
            problems, status = exc.messages, 400
    if plan is not None and redraw:
        # A redraw: only the answers; the set, the picker and the reference data stay.
        phases = Phases()
        ctx = _comparison(request, plan, specs, phases=phases)
        with phases("render"):
            response = live_json(
                request,
                answered=ctx["result"] is not None,
                answer=render_to_string("portal/compare.html#answer", ctx, request=request),
                fields=ctx["fields"],
                figures=ctx["figures"],
            )
        patch_vary_headers(response, ["Accept"])
        return phases.send(response)
    ctx: dict[str, Any] = {
        "specs": specs,
        "members": [
            {
                "spec": spec,
                "version": version,
                "aliases": [a.name for a in version.aliases.all()] if version else [],
                "remove_url": _compare_url(specs[:i] + specs[i + 1 :]),
            }
            for i, (spec, version) in enumerate(zip(specs, versions, strict=True))
        ],
        "picker": _picker(versions) if len(specs) < MAX_MODELS else [],
        "catalog_url": f"{reverse('catalog')}?{urlencode([('m', s) for s in specs])}",
        "min_models": MIN_MODELS,
        "max_models": MAX_MODELS,
        "is_manager": roles.has_role(request.user, roles.MANAGER),
        "here": request.get_full_path(),
        "problems": problems,
        "not_found": status == 404,
    }
    if plan is None:
        return render(request, "portal/compare.html", ctx, status=status)
    ctx.update(_comparison(request, plan, specs))
    ctx["reference"] = _reference(plan, specs)
    response = render(request, "portal/compare.html", ctx)
    patch_vary_headers(response, ["Accept"])  # one URL, HTML or JSON
    return response


def _comparison(
    request: HttpRequest, plan: ComparisonPlan, specs: list[str], phases: Phases | None = None
) -> dict[str, Any]:
    """The form over the union of inputs and, when the inputs are valid, the answers."""
    phases = phases or Phases()
    interface = plan.interface
    values = {**interface.defaults(), **query_values(interface, request.GET)}
    form = InterfaceForm(interface, data=form_data(values))
    form.is_valid()  # every field is optional text; each version validates its own inputs
    result = None
    # Each model answers the row and sweeps each of its inputs (the reference section is
    # cached per set of versions).
    swept = sum(1 + len(m.interface.names) * SWEEP_POINTS for m in plan.members)
    try:
        with RowBudget(request.user, scored=swept), phases("model"):
            result = comparison_whatif(
                plan=plan,
                row=form.row(),
                user=request.user,
                source=Source.PAGE,
                points=SWEEP_POINTS,
            )
    except InvalidInput as exc:
        form.add_interface_errors(exc)
    except ValidationError as exc:  # a model could not answer these inputs
        form.add_error(None, " ".join(exc.messages))
    warnings = result.warnings() if result is not None else {}
    everyone = len(plan.members)
    ctx: dict[str, Any] = {
        "plan": plan,
        "form": form,
        "result": result,
        "fields": [
            {
                "field": form[f.name],
                "spec": f,
                "used_by": plan.used_by[f.name] if len(plan.used_by[f.name]) < everyone else [],
                "warning": " ".join(warnings.get(f.name, [])),
            }
            for f in interface.fields
        ],
        "reset_url": _compare_url(specs),
        "columns": columns_of(request.GET),
        "figures": {"answer": None, "sensitivity": None},
    }
    if result is not None:
        with phases("figures"):
            ctx.update(_answer_figures(plan, result, columns=ctx["columns"]))
    return ctx


def _answer_figures(
    plan: ComparisonPlan, result: ComparisonWhatIf, *, columns: int
) -> dict[str, Any]:
    """The answers, and the figures keyed as the page's containers are (the answer first)."""
    first = result.answers[0].predictions[0]
    focus = focus_of(plan.members[0].version, first)
    shown = _display_names(plan)
    answers = []
    for member, answer in zip(plan.members, result.answers, strict=True):
        prediction = answer.predictions[0]
        probabilities = prediction.get("probabilities") or {}
        answers.append(
            {
                "label": member.label,
                "shown": shown[member.label],
                "prediction": prediction,
                "confidence": probabilities.get(str(prediction.get("label"))),
                "focus": probabilities.get(focus) if focus is not None else None,
            }
        )
    output = plan.interface.output
    target = output.get("target") or "prediction"
    labels = {f.name: f.spec.get("label") or f.name for f in plan.interface.fields}
    series = {
        shown[m.label]: curves_with_y(curves, focus)
        for m, curves in zip(plan.members, result.curves, strict=True)
    }
    answer_figure = comparison_answer_figure(
        [shown[label] for label in plan.labels], [a.predictions for a in result.answers], output
    )
    if plan.task == "classification":
        y_label, y_range = f"P({focus})", [0, 1]
    else:
        # The first model's reference targets set the value axis, as on its what-if page.
        y_label, y_range = target, value_range(plan.members[0].version, list(series.values()))
    sensitivity = comparison_sensitivity_figure(
        series, y_label=y_label, y_range=y_range, labels=labels, columns=columns
    )
    return {
        "answers": answers,
        "focus": focus,
        "figures": {"answer": answer_figure, "sensitivity": sensitivity},
        "unit": output.get("unit"),
    }


# ---------------------------------------------------------------- on the reference data
def _reference(plan: ComparisonPlan, specs: list[str]) -> dict[str, Any]:
    """The reference-data section: metrics, overlaid curves and where the models disagree."""
    result: ReferenceComparison = comparison_reference(plan=plan)
    section: dict[str, Any] = {"result": result}
    if result.reason:
        return section
    first = plan.members[0]
    metric_keys = list(dict.fromkeys(k for m in result.metrics.values() for k in m))
    section["metric_rows"] = [
        {"key": key, "values": [result.metrics[label].get(key) for label in result.labels]}
        for key in metric_keys
    ]
    shown = _display_names(plan)
    section["shown"] = [shown[label] for label in result.labels]
    figures = reference_figures(result, shown)
    section["figures"] = figures
    pairs = []
    for pair in result.pairs:
        figure = disagreement_figure(pair, shown, target=result.target)
        rows = [
            {
                **row,
                "whatif_url": whatif_link(first.version, row["inputs"]),
                "compare_url": _compare_url(
                    specs,
                    **{
                        k: query_value(v)
                        for k, v in row["inputs"].items()
                        if v is not None and k in plan.interface.by_name
                    },
                ),
            }
            for row in pair.rows
        ]
        pairs.append(
            {"pair": pair, "figure": figure, "rows": rows, "a": shown[pair.a], "b": shown[pair.b]}
        )
    section["pairs"] = pairs
    section["first"] = first
    section["first_shown"] = shown[first.label]
    return section


# ---------------------------------------------------------------- version diff
def _version_number(model, raw: str | None, default: int | None) -> ModelVersion:
    try:
        number = int(raw) if raw else default
    except ValueError:
        raise Http404("The version must be a number.") from None
    try:
        return model_version_select(model=model, version=number)
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None


@role_required(roles.VIEWER)
@require_GET
def version_diff(request: HttpRequest, name: str) -> HttpResponse:
    model = model_or_404(name)
    versions = list(model_version_list(model=model))
    newest = versions[0].number if versions else None
    b = _version_number(model, request.GET.get("b"), newest)
    previous = b.parent.number if b.parent_id else max(b.number - 1, 1)
    a = _version_number(model, request.GET.get("a"), previous)
    diff = model_version_diff(a=a, b=b)
    ctx = {
        "metrics": [{"m": m, "verdict": metric_verdict(m.key, m.a, m.b)} for m in diff.metrics],
        "inputs_same": len(diff.inputs) - len(diff.inputs_changed),
        "model": model,
        "versions": versions,
        "diff": diff,
        "a": a,
        "b": b,
        "compare_url": _compare_url([f"{model.name}@{a.number}", f"{model.name}@{b.number}"])
        if a.number != b.number
        else None,
        "can_compare": roles.has_role(request.user, roles.ANALYST),
    }
    return render(request, "portal/version_diff.html", ctx)
