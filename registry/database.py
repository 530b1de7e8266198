"""What a database error means for the caller: an outage to wait out, or a bug."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)

# PostgreSQL's codes for a server going away or refusing connections: class 08 (connection
# exception), the server shutting down or starting up (57P01-57P03), too many connections.
_OUTAGE_STATES = {"57P01", "57P02", "57P03", "53300"}


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` is a lost or refused database connection (a restart, an outage): a
    wait, not a bug. Django opens a new connection on the next request, as the server allows.
    """
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    cause = exc.__cause__
    # The driver's own error, looked at by its module: importing psycopg here would load it
    # on SQLite too.
    if type(cause).__module__.partition(".")[0] != "psycopg":
        return False
    if isinstance(exc, InterfaceError):  # "the connection is closed"
        return True
    state = getattr(cause, "sqlstate", None)
    # No state: the client's own failure to reach the server (refused, reset, closed).
    return state is None or state.startswith("08") or state in _OUTAGE_STATES


def database_state() -> str:
    """Whether the database answers now: "ok", "unavailable" (lost or refused: wait) or
    "error". Every health and readiness check of every face asks this."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure to reach the database means not healthy
        log.warning("Health check: the database does not answer.", exc_info=True)
        return "unavailable" if database_unavailable(exc) else "error"
    return "ok"
