"""The alert checker in the task worker: every ``PORTAL_ALERT_INTERVAL`` seconds a task that
evaluates every rule once (``python manage.py check_alerts`` does the same, once)."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.cache import caches
from django.db import close_old_connections
from django.tasks import task

from registry.alerts.services import alerts_evaluate_all

log = logging.getLogger(__name__)


@task()
def alerts_check() -> None:
    """Evaluate every alert rule once."""
    counts = alerts_evaluate_all()
    if counts["fired"] or counts["resolved"] or counts["failed"]:
        log.info("alerts: %s", counts)


def alerts_due(interval: int) -> bool:
    """Whether this worker should queue the next check: one worker of many per interval
    (the shared cache decides), so several workers do not check several times as often."""
    return bool(caches["default"].add("alerts-check-queued", True, max(1, interval - 1)))


def alerts_ticker_start() -> threading.Thread:
    """A daemon thread of the worker process that queues :func:`alerts_check` every
    ``PORTAL_ALERT_INTERVAL`` seconds (the first one a few seconds after start)."""
    interval = settings.PORTAL["ALERT_INTERVAL"]

    def tick() -> None:
        wait = min(5, interval)
        while True:
            time.sleep(wait)
            wait = interval
            try:
                if alerts_due(interval):
                    alerts_check.enqueue()
            except Exception:  # a database away for a moment: try again next time
                log.exception("could not queue the alert check")
            finally:
                close_old_connections()

    thread = threading.Thread(target=tick, name="alerts-ticker", daemon=True)
    thread.start()
    return thread
