"""Single-row predict over HTTP: gunicorn with 1 and 2 workers, a bounded loopback client.

    .venv/bin/python bench/api_http.py [--requests 3000] [--concurrency 1 8] [--workers 1 2]

Seeds a throwaway SQLite DATA_DIR with the demo models and a manager's token, starts gunicorn
on 127.0.0.1 (a free port) with the repo's gunicorn.conf.py, and POSTs the same one-row
breast-cancer predict (30 inputs, every call stored as a Prediction) from client threads
holding one connection each. Prints requests/s, client-side p50/p99, the server-side time
the service stored (Prediction.latency_ms) and, beside them, the raw in-process
predict_proba of the same model on a one-row DataFrame. Measures and prints; never asserts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from _setup import django_with_demo, percentiles

ROOT = Path(__file__).resolve().parent.parent
MODEL = "breast-cancer"

django_with_demo()

import pandas as pd  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from registry import selectors  # noqa: E402
from registry.models import Prediction  # noqa: E402


def manager_token() -> str:
    user, _ = User.objects.get_or_create(username="bench-manager")
    user.groups.add(Group.objects.get(name="manager"))
    return Token.objects.get_or_create(user=user)[0].key


def one_row() -> dict:
    version = selectors.model_version_resolve(name=MODEL)
    names = selectors.version_interface(version).names
    return {k: v for k, v in version.reference_sample[0].items() if k in names}


def raw_predict_ms(row: dict, repeat: int = 2000) -> dict[str, float]:
    """The estimator's own predict_proba on a one-row DataFrame built in advance."""
    version = selectors.model_version_resolve(name=MODEL)
    estimator = selectors.version_estimator(version)
    frame = pd.DataFrame([row])[selectors.version_interface(version).names]
    for _ in range(100):
        estimator.predict_proba(frame)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        estimator.predict_proba(frame)
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def queries_per_predict(body: bytes, token: str) -> int:
    """Database queries one token-authenticated predict costs, once the process is warm."""
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="localhost")
    path = f"/api/v1/models/{MODEL}/predict/"
    client.post(path, body, content_type="application/json")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(path, body, content_type="application/json")
    if response.status_code != 200:
        raise SystemExit(f"predict failed: {response.content[:500]!r}")
    return len(queries)


def worker_cpu_seconds(master: int) -> float:
    """CPU time (user + system) of gunicorn's workers so far, read from /proc (Linux)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:  # the parent pid
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(workers: int, port: int) -> subprocess.Popen:
    # The per-user rate limit (6000/min by default) would throttle a run that measures
    # throughput, not the limit.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "PORTAL_API_RATE": "10000/s"}
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
            "portal.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/api/v1/health/")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn did not answer: {process.stderr.read().decode()[-2000:]}")


def load(port: int, body: bytes, token: str, requests: int, concurrency: int) -> dict:
    """``requests`` POSTs from ``concurrency`` threads; latencies in ms, wall time in s."""
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    path = f"/api/v1/models/{MODEL}/predict/"
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    share = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    start_line = threading.Barrier(concurrency + 1)

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], []
        start_line.wait()
        for _ in range(n):
            started = time.perf_counter()
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                bad.append(response.status)
        conn.close()
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    threads = [threading.Thread(target=client, args=(n,)) for n in share]
    for t in threads:
        t.start()
    start_line.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return {"wall": wall, "latencies": latencies, "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    token = manager_token()
    row = one_row()
    body = json.dumps({"inputs": [row]}).encode()
    raw = raw_predict_ms(row)
    queries = queries_per_predict(body, token)
    # Keep one connection to the database open, as the task worker does under `make run`.
    # With SQLite, settings close the connection after every request; when that is the
    # last connection, SQLite checkpoints the WAL on close (2-3 ms per request).
    connection.ensure_connection()

    print(f"\n{MODEL}: single-row predict over HTTP ({len(row)} inputs, {len(body)} B body)")
    load_1m = os.getloadavg()[0]
    print(f"  {os.cpu_count()} CPUs, load average {load_1m:.1f} before the run")
    print(f"  raw in-process predict_proba on a 1-row DataFrame: p50 {raw['p50']:.3f} ms")
    print(f"  queries per token-authenticated predict: {queries}")
    print(
        f"  {'workers':>7} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'server p50':>10} {'worker CPU':>10} {'errors':>6}"
    )
    for workers in args.workers:
        port = free_port()
        server = start_gunicorn(workers, port)
        try:
            load(port, body, token, 300, max(args.concurrency))  # warm every worker
            for concurrency in args.concurrency:
                stamp = timezone.now()
                cpu_before = worker_cpu_seconds(server.pid)
                result = load(port, body, token, args.requests, concurrency)
                cpu_ms = (worker_cpu_seconds(server.pid) - cpu_before) * 1000 / args.requests
                stored = list(
                    Prediction.objects.filter(created_at__gte=stamp).values_list(
                        "latency_ms", flat=True
                    )
                )
                server_p50 = percentiles(stored)["p50"] if stored else float("nan")
                client = percentiles(result["latencies"])
                print(
                    f"  {workers:>7} {concurrency:>4} {args.requests / result['wall']:>8.0f} "
                    f"{client['p50']:>8.2f} {client['p99']:>8.2f} {server_p50:>10.3f} "
                    f"{cpu_ms:>10.2f} {len(result['failures']):>6}"
                )
                if result["failures"]:
                    print(f"    statuses of the errors: {sorted(set(result['failures']))}")
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        "\n  server p50: Prediction.latency_ms, the time prediction_run measures (validate and "
        "predict)\n  before storing; the client's time adds HTTP, auth, the version lookup, "
        "the insert and JSON.\n  worker CPU: the gunicorn workers' CPU time per request "
        "(all ms)."
    )


if __name__ == "__main__":
    sys.exit(main())
