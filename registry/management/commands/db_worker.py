"""django-tasks-db's ``db_worker``, made to outlast a locked or unreachable database.

The library's worker ignores "database is locked" only while it picks a task: the
``BEGIN EXCLUSIVE`` that opens that transaction on SQLite, a lock held past a task's
``set_successful`` retries, or a PostgreSQL restart end the process, and queued batch jobs then
wait for whatever restarts it (``bin/run-portal`` does; a worker started by hand or by a
supervisor without a restart policy does not). This command is the library's, with its
worker's loop restarted after such an error, waiting longer each time it recurs (at most
``MAX_WAIT`` seconds). Any other error still ends the process: that is a bug to see.

It takes the library's place because ``registry`` comes before ``django_tasks_db`` in
``INSTALLED_APPS`` (the first app with a command of a name provides it).
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sys
import time

from django.db import InterfaceError, OperationalError, connections
from django_tasks_db.management.commands import db_worker as library
from django_tasks_db.utils import is_locked_database_exception

from registry.alerts.tasks import alerts_ticker_start
from registry.database import database_unavailable

logger = logging.getLogger("django_tasks_db")

FIRST_WAIT = 0.5  # seconds
MAX_WAIT = 30.0


def _locked(exc: BaseException) -> bool:
    return (
        isinstance(exc, OperationalError) and bool(exc.args) and is_locked_database_exception(exc)
    )


class PatientWorker(library.Worker):
    """The library's worker; a locked or unreachable database is waited out, not fatal, and
    a stop signal ends it quietly with code 0.

    Ctrl-C on ``bin/run-portal`` sends SIGINT to the worker and, at once, the supervising
    loop's TERM. The library answers the second signal with ``sys.exit(1)`` raised wherever
    the first one's exit happens to be, and a task interrupted that way is recorded as failed
    with the ``SystemExit`` traceback.
    """

    def shutdown(self, signum, frame) -> None:
        name = signal.strsignal(signum)
        if self.running_task and not self.running:
            # Asked twice while a batch chunk runs: stop now without recording it as failed.
            # Its heartbeat stops, so the next worker takes it up again (services'
            # stale-chunk recovery); SQLite and PostgreSQL roll back what was unfinished.
            logger.warning("Received %s again - stopping now; the chunk is retried later.", name)
            logging.shutdown()
            os._exit(0)
        if not self.running:
            return  # already leaving: a second signal must not replace a clean exit
        self.running = False
        if self.running_task:
            logger.warning("Received %s - stopping after the current task.", name)
            return
        logger.info("Received %s - stopping.", name)
        sys.exit(0)  # ends the polling sleep at once; nothing is in progress

    def run(self) -> None:
        wait = FIRST_WAIT
        while True:
            started = time.monotonic()
            try:
                return super().run()
            except (OperationalError, InterfaceError) as exc:
                if not self.running or not (_locked(exc) or database_unavailable(exc)):
                    raise
                # A connection whose BEGIN or COMMIT failed may be mid-transaction or broken:
                # start again from a new one.
                for connection in connections.all(initialized_only=True):
                    connection.close()
                if time.monotonic() - started > 2 * MAX_WAIT:
                    wait = FIRST_WAIT  # a new episode, not the same one going on
                pause = wait * random.uniform(0.5, 1.0)  # spreads workers apart
                logger.warning(
                    "The database is %s (%s); trying again in %.1f s.",
                    "locked" if _locked(exc) else "unreachable",
                    (str(exc).strip().splitlines() or [type(exc).__name__])[0],
                    pause,
                )
                time.sleep(pause)
                wait = min(MAX_WAIT, wait * 2)
                self.startup_delay = False


class Command(library.Command):
    help = library.Command.help + " (waits out a locked or unreachable database)"

    def handle(self, *args, **options) -> None:
        # The library's handle() builds its worker by this module-level name.
        library.Worker = PatientWorker
        if not options.get("batch") and not options.get("max_tasks"):
            alerts_ticker_start()  # a worker that stays up checks the alert rules
        super().handle(*args, **options)
