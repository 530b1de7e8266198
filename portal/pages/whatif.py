"""The what-if page: one row's answer, redrawn as its inputs change.

The first request renders the whole page; as inputs change, static/js/whatif.js asks the
same URL for JSON (``format=json``, see ``portal.pages.live``) and redraws in place.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods

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
from portal.pages.access import model_or_404, role_required, throttled, version_or_404
from portal.pages.forms import InterfaceForm, form_data, query_values
from portal.pages.live import columns_of, live_json, wants_json
from portal.pages.timing import Phases
from portal.web.throttles import ModelCallThrottle, RowBudget
from registry import roles
from registry.explain.counterfactuals import MARGIN_POINTS
from registry.interface import InvalidInput
from registry.models import Source
from registry.predict.services import (
    MAX_GRID_POINTS,
    whatif_run,
)
from registry.runtime import version_interface

SWEEP_POINTS = 25


FIRST_PANELS = 9  # small multiples drawn before "show all": three rows of three


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
        "confidence": confidence_of(prediction),
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


def confidence_of(output: dict[str, Any]) -> float | None:
    """The probability of the class answered, as the what-if headline shows it (None for a
    value, or a classifier without probabilities)."""
    return (output.get("probabilities") or {}).get(str(output.get("label")))


def query_value(value: Any) -> Any:
    """A value as a page's query string carries it (a boolean as a checkbox sends it)."""
    return ("on" if value else "false") if isinstance(value, bool) else value


def whatif_link(version, inputs: dict[str, Any]) -> str:
    """The what-if page of ``version`` with ``inputs`` filled in."""
    params = {k: query_value(v) for k, v in inputs.items() if v is not None}
    params["version"] = version.number
    return f"{reverse('whatif', args=[version.model.name])}?{urlencode(params)}"
