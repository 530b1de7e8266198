"""A small fake MLflow tracking server on 127.0.0.1, for what a real one never does.

It answers the few REST calls the import makes (registered-models get and search,
model-versions search, get-artifact, runs/get) from plain dicts, and records every request
with its Authorization header. A test can make it misbehave: redirect every call to another
address, paginate for ever, drip its answers a byte at a time.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API = "/api/2.0/mlflow/"


@dataclass
class FakeModel:
    """A registered model: its versions (dicts as MLflow answers, plus ``files``) and aliases."""

    name: str
    versions: list[dict[str, Any]] = field(default_factory=list)
    aliases: dict[str, int] = field(default_factory=dict)
    description: str = ""

    def add(self, files: dict[str, bytes], **answer: Any) -> None:
        number = len(self.versions) + 1
        self.versions.append(
            {
                "name": self.name,
                "version": str(number),
                "status": "READY",
                "creation_timestamp": 1_700_000_000_000 + number,
                "source": f"models:/m-{number}",
                **answer,
                "files": files,
            }
        )


@dataclass
class FakeMlflow:
    """Behaviour of one fake server; change the attributes between imports."""

    models: dict[str, FakeModel] = field(default_factory=dict)
    redirect_to: str | None = None  # every call answered with a 302 to this base address...
    mount: str = ""  # ...except those under this path, answered as if it were not there
    endless_pages: int = 0  # searches go on for this many pages (0: one page, as usual)
    page_padding: int = 0  # bytes of padding in each page of an endless search
    drip_seconds: float = 0.0  # answers sent a byte at a time, this long between bytes
    drip_for: float = 40.0  # ... until this many seconds have passed, then the rest at once
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)

    def model(self, name: str) -> FakeModel:
        return self.models.setdefault(name, FakeModel(name))

    def registered(self, model: FakeModel) -> dict[str, Any]:
        return {
            "name": model.name,
            "description": model.description,
            "aliases": [{"alias": a, "version": str(v)} for a, v in model.aliases.items()],
        }

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, bytes, str]:
        """Status, body and content type for one GET."""
        if path == API + "registered-models/search":
            if self.endless_pages:
                page = int(query.get("page_token", "0"))
                body = {"registered_models": [], "padding": "x" * self.page_padding}
                if page + 1 < self.endless_pages:
                    body["next_page_token"] = str(page + 1)
                return 200, json.dumps(body).encode(), "application/json"
            found = [self.registered(m) for m in self.models.values()]
            return 200, json.dumps({"registered_models": found}).encode(), "application/json"
        if path == API + "registered-models/get":
            model = self.models.get(query.get("name", ""))
            if model is None:
                error = {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "not found"}
                return 404, json.dumps(error).encode(), "application/json"
            body = {"registered_model": self.registered(model)}
            return 200, json.dumps(body).encode(), "application/json"
        if path == API + "model-versions/search":
            name = query.get("filter", "").split("=", 1)[-1].strip("'\"")
            model = self.models.get(name, FakeModel(name))
            versions = [{k: v for k, v in x.items() if k != "files"} for x in model.versions]
            return 200, json.dumps({"model_versions": versions}).encode(), "application/json"
        if path == "/model-versions/get-artifact":
            model = self.models.get(query.get("name", ""))
            number = int(query.get("version", "0"))
            if model and 0 < number <= len(model.versions):
                data = model.versions[number - 1]["files"].get(query.get("path", ""))
                if data is not None:
                    return 200, data, "application/octet-stream"
            return 404, b"{}", "application/json"
        error = {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such run"}
        return 404, json.dumps(error).encode(), "application/json"


def _handler(fake: FakeMlflow) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            fake.seen.append((parts.path, self.headers.get("Authorization")))
            if fake.redirect_to and not (fake.mount and parts.path.startswith(fake.mount)):
                self.send_response(302)
                self.send_header("Location", fake.redirect_to + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            query = dict(urllib.parse.parse_qsl(parts.query))
            status, body, kind = fake.answer(parts.path.removeprefix(fake.mount), query)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not fake.drip_seconds:
                self.wfile.write(body)
                return
            stop = time.monotonic() + fake.drip_for
            for position in range(len(body)):
                if time.monotonic() > stop:
                    break
                self.wfile.write(body[position : position + 1])
                self.wfile.flush()
                time.sleep(fake.drip_seconds)
            else:
                return
            self.wfile.write(body[position:])

    return Handler


@dataclass
class Running:
    fake: FakeMlflow
    uri: str


def fake_mlflow_server(fake: FakeMlflow) -> Iterator[Running]:
    """Serve ``fake`` on a free port of 127.0.0.1 until the generator is closed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Running(fake=fake, uri=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
