"""A lost or refused database connection (a restart, an outage) answers 503 with Retry-After,
never 500: the client learns it may try again, and that it met no bug.

Views' exceptions are mapped where they are raised (the API's and /v2/'s handlers, through
``portal.web.errors.describe``); this is the catch-all for the rest (pages, and what
middleware does before or after a view, such as loading or saving a session): Django's
``handler500``, which sees the exception being handled.
"""

from __future__ import annotations

import logging
import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

from portal.web.errors import unavailable
from registry.database import database_unavailable

logger = logging.getLogger("portal")


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a database outage is a 503 to retry; anything else Django's 500."""
    exc = sys.exc_info()[1]
    if exc is None or not database_unavailable(exc):
        return defaults.server_error(request)
    logger.warning("Database unavailable on %s: %s", request.path, str(exc).strip()[:200])
    error = unavailable()
    if request.path.startswith("/api/"):
        response = JsonResponse(error.body(), status=error.status)
    elif request.path.startswith("/v2"):
        response = JsonResponse({"error": error.message}, status=error.status)
    else:  # a page that needs no database: no user, no role, nothing from the session
        response = HttpResponse(render_to_string("unavailable.html"), status=error.status)
    for header, value in error.headers.items():
        response[header] = value
    return response
