"""A real webhook receiver on 127.0.0.1 and the real database task worker, run in this
process, for the tests of events, webhooks and releases."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django_tasks_db.management.commands.db_worker import Worker

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signed: bool


@dataclass
class Receiver:
    """An HTTP server that checks each POST's signature and answers the statuses it is given
    in turn (the last one from then on)."""

    secret: str
    statuses: list[int]
    received: list[Received] = field(default_factory=list)
    redirect_to: str = ""

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                signed = hmac.compare_digest(
                    self.headers.get("X-Portal-Signature", ""), f"sha256={expected}"
                )
                receiver.received.append(Received(self.path, dict(self.headers), body, signed))
                index = min(len(receiver.received), len(receiver.statuses)) - 1
                status = receiver.statuses[index] if signed else 401
                self.send_response(status)
                if receiver.redirect_to:
                    self.send_header("Location", receiver.redirect_to)
                answer = b"a receiver's secret answer"
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/portal"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def work_once() -> None:
    """Run the database task worker (django-tasks-db's own) over every task that is due."""
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="tests",
        excluded_queue_names=[],
    ).run()


def work_until(done: Callable[[], bool], timeout: float = 30) -> None:
    """Run the worker until ``done()`` or ``timeout``: each pass runs every task that is
    due, then the next due ones are waited for."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError("the worker did not finish in time")
        work_once()
        time.sleep(0.02)
