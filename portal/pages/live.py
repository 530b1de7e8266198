"""What the live pages (what-if, compare) share on the server: their script asks the page's
own view for JSON on each change (static/js/whatif.js), and gets the answer's HTML, each
input's notes and each figure's data, keyed as the page's figure containers are."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.gzip import GZipMiddleware


def wants_json(request: HttpRequest) -> bool:
    """The page's script asks for the answer and the figures' data, not a page."""
    if request.GET.get("format") == "json":
        return True
    accept = request.headers.get("Accept", "")
    return accept.startswith("application/json")


def columns_of(params) -> int:
    """Columns of small multiples the page has room for (its script measures; 3 otherwise)."""
    try:
        return min(3, max(1, int(params.get("columns", 3))))
    except ValueError:
        return 3


def live_json(
    request: HttpRequest,
    *,
    answered: bool,
    answer: str,
    fields: list[dict[str, Any]],
    figures: dict[str, Any],
    save: list[tuple[str, str]] | None = None,
) -> HttpResponse:
    """The body the script redraws from: ``answer`` (the HTML of the page's own answer
    partial), each input's warning and error (``fields``: the page's items with ``spec``,
    ``field`` and ``warning``), the save form's values, and the figures."""
    body = {
        "answered": answered,
        "answer": answer,
        "fields": {
            item["spec"].name: {
                "warning": item["warning"],
                "error": " ".join(item["field"].errors),
            }
            for item in fields
        },
        "save": save or [],
        "figures": figures,
    }
    response = JsonResponse(body, json_dumps_params={"separators": (",", ":")})
    response["Cache-Control"] = "private, no-store"
    # Figures' numbers compress well (a 30-input model's redraw: ~50 kB -> ~10 kB). Only this
    # JSON is compressed: it carries no secret for a compression side channel to reveal.
    return GZipMiddleware(lambda _: response).process_response(request, response)
