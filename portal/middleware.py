"""Answers for pages when the database is too busy to write: a 503 to retry, not a 500."""

from __future__ import annotations

from django.shortcuts import render

from portal.web.errors import BUSY_RETRY_AFTER, database_busy


class DatabaseBusyMiddleware:
    """SQLite allows one writer at a time; a page that waited its full timeout says so."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not database_busy(exception):
            return None
        response = render(request, "503.html", status=503)
        response["Retry-After"] = str(BUSY_RETRY_AFTER)
        return response
