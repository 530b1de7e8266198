"""What the console shows a person running the portal."""

import logging
import sys

import pytest


def test_a_refused_request_is_one_line_without_a_traceback(
    client, make_user, clinic_version, caplog
):
    client.force_login(make_user("vic", "viewer"))
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/models/clinic/whatif/").status_code == 403
    handler = logging.getHandlerByName("console")
    lines = [
        handler.format(r)
        for r in caplog.records
        if r.name == "django.request" and handler.filter(r)
    ]
    assert len(lines) == 1
    assert "Forbidden" in lines[0] and "/models/clinic/whatif/" in lines[0]
    assert "Traceback" not in lines[0]


def test_a_server_error_keeps_its_traceback():
    handler = logging.getHandlerByName("console")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error",
            None,
            sys.exc_info(),
        )
    record.status_code = 500
    assert handler.filter(record)
    assert "Traceback" in handler.format(record) and "ValueError: boom" in handler.format(record)


pytestmark = pytest.mark.django_db
