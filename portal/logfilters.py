"""Filters for the console log."""

from __future__ import annotations

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """A refused request (a 403, a 404) is logged as one line: Django attaches the exception
    it answered, whose traceback says nothing about a fault and buries the real ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
