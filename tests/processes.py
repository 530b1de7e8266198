"""The portal in processes of its own, for the tests and benchmarks that measure them.

A file-based SQLite database set up by a Django shell, gunicorn with one worker, the task
worker, their memory read from /proc, and the worst-case request bodies each upload path
takes at its limit. ``bench/upload_memory.py`` and the memory tests share them.
"""

from __future__ import annotations

import http.client
import json
import os
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]


def django_shell(env: dict[str, str], code: str, timeout: float = 300) -> str:
    """Run Django code in a process of its own (``manage.py shell``); its standard output."""
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-4000:])
    return done.stdout.strip()


def memory_mb(pid: int, key: str = "VmHWM") -> float:
    """A process's peak (``VmHWM``) or current (``VmRSS``) resident memory, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith(key)).split()[1]) / 1024


def peak_reset(pid: int) -> None:
    """Start a process's peak (``VmHWM``) again from its current memory (Linux)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@dataclass
class Served:
    """One gunicorn master with one worker (one thread), on ``port``."""

    port: int
    process: subprocess.Popen
    log: IO[str]
    answers: list[int] = field(default_factory=list)

    @property
    def worker(self) -> int:
        return children(self.process.pid)[0]

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        conn.request(method, path, body, headers or {})
        response = conn.getresponse()
        answer = response.read()
        conn.close()
        return response.status, answer

    def measured(
        self, method: str, path: str, body: bytes, headers: dict
    ) -> tuple[int, bytes, float, float, float]:
        """Status, answer, the worker's memory before (MB), its peak growth while answering
        (MB) and the seconds the answer took."""
        worker = self.worker
        before = memory_mb(worker, "VmRSS")
        peak_reset(worker)
        started = time.perf_counter()
        status, answer = self.request(method, path, body, headers)
        seconds = time.perf_counter() - started
        return status, answer, before, memory_mb(worker) - before, seconds

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def gunicorn_serve(env: dict[str, str], port: int, log_path: Path) -> Served:
    """gunicorn with the project's config, one worker and one thread, answering on ``port``."""
    log = open(log_path, "w")  # noqa: SIM115 (closed by Served.stop)
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        *("--config", "gunicorn.conf.py", "--workers", "1", "--threads", "1"),
        *("--bind", f"127.0.0.1:{port}", "portal.wsgi"),
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    served = Served(port, process, log)
    deadline = time.monotonic() + 90
    while True:
        try:
            if served.request("GET", "/v2/health/ready")[0] == 200 and children(process.pid):
                return served
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            served.stop()
            raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


def task_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """The database task worker (``manage.py db_worker``), polling every 50 ms."""
    log = open(log_path, "w")  # noqa: SIM115 (the process keeps it)
    command = [sys.executable, "manage.py", "db_worker", "--interval", "0.05"]
    return subprocess.Popen(
        [*command, "--no-startup-delay", "--no-reload"], cwd=ROOT, env=env, stdout=log, stderr=log
    )


# ---------------------------------------------------------------- worst-case bodies
def _filled(prefix: bytes, item: bytes, suffix: bytes, size: int) -> bytes:
    """``prefix``, then ``item`` repeated (comma-separated), then ``suffix``: ``size`` bytes
    at most, as many items as fit."""
    count = (size - len(prefix) - len(suffix) + 1) // (len(item) + 1)
    return prefix + b",".join([item] * count) + suffix


def v1_split_empty_rows(size: int) -> bytes:
    """MLflow's split form holding as many empty rows as ``size`` bytes allow (5.5 million
    in 16 MiB): the most objects per byte a v1 body can ask for."""
    return _filled(b'{"dataframe_split": {"columns": [], "data": [', b"[]", b"]}}", size)


def v1_empty_records(size: int) -> bytes:
    """``inputs`` holding as many empty objects as ``size`` bytes allow."""
    return _filled(b'{"inputs": [', b"{}", b"]}", size)


def v2_json_empty_values(name: str, size: int) -> bytes:
    """A v2 JSON tensor declaring one row and holding as many empty lists as fit."""
    head = json.dumps({"name": name, "datatype": "INT64", "shape": [1]})[:-1].encode()
    return _filled(b'{"inputs": [' + head + b', "data": [', b"[]", b"]}]}", size)


def v2_binary_bool(name: str, size: int) -> tuple[bytes, dict[str, str]]:
    """One BOOL tensor of one-byte rows filling ``size`` bytes (Triton's binary extension):
    the red team's body, 8 MB of which peaked a worker at 1.85 GB."""

    def head(rows: int) -> bytes:
        tensor = {"name": name, "datatype": "BOOL", "shape": [rows]}
        return json.dumps({"inputs": [{**tensor, "parameters": {"binary_data_size": rows}}]})

    rows = size
    while size - len(head(rows)) != rows:
        rows = size - len(head(rows))
    header = head(rows).encode()
    return header + b"\x01" * rows, {"Inference-Header-Content-Length": str(len(header))}


def v2_binary_rows(rows: list[dict], datatypes: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """Legitimate rows as binary tensors (numbers as FP64/INT64, text as BYTES)."""
    tensors, parts = [], []
    for name, datatype in datatypes.items():
        values = [row[name] for row in rows]
        if datatype == "BYTES":
            raw = b"".join(struct.pack("<I", len(v.encode())) + v.encode() for v in values)
        else:
            raw = struct.pack(f"<{len(values)}{'q' if datatype == 'INT64' else 'd'}", *values)
        parts.append(raw)
        tensors.append(
            {
                "name": name,
                "datatype": datatype,
                "shape": [len(rows)],
                "parameters": {"binary_data_size": len(raw)},
            }
        )
    head = json.dumps({"inputs": tensors}).encode()
    return head + b"".join(parts), {"Inference-Header-Content-Length": str(len(head))}


def environment(data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment for a portal over the file database in ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        SECRET_KEY="measurements-only",
        DATA_DIR=str(data_dir),
        LOG_LEVEL="WARNING",
        WEB_ACCESS_LOG="/dev/null",
        **settings,
    )
    return env
