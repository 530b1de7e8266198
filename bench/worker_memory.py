"""A gunicorn worker's memory after a spike of large calls, with and without recycling.

    .venv/bin/python bench/worker_memory.py [--max-requests 0 1000] [--spike 10] [--after 1200]

Seeds a throwaway SQLite DATA_DIR with the demo models, starts gunicorn (one worker, the repo's
gunicorn.conf.py) once per WEB_MAX_REQUESTS value, and measures the worker's RSS (from /proc):
after 50 one-row predicts, after ``--spike`` calls of 10,000 rows (the row limit) to the
breast-cancer pipeline, and after ``--after`` more one-row predicts. With recycling on, the
worker that took the spike is replaced by a fresh one within that many calls; the slowest
one-row call of the last stretch shows what a replacement costs the call that meets it (the
model is loaded again in the new worker). Measures and prints; never asserts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import time
from pathlib import Path

from _setup import django_with_demo, free_port, gunicorn_launch

django_with_demo()

import pandas as pd  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from registry.catalog.selectors import registered_model_get  # noqa: E402

MODEL = "breast-cancer"


def token() -> str:
    user, _ = User.objects.get_or_create(username="bench-analyst")
    user.groups.add(Group.objects.get_or_create(name="analyst")[0])
    return Token.objects.get_or_create(user=user)[0].key


def rows(n: int) -> list[dict]:
    version = registered_model_get(name=MODEL).versions.order_by("-number").first()
    sample = pd.DataFrame(version.reference_sample)
    names = [spec["name"] for spec in version.interface["inputs"]]
    frame = sample[names].sample(n, replace=True, random_state=0)
    return json.loads(frame.to_json(orient="records"))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def run(max_requests: int, key: str, spike: int, after: int) -> dict:
    port = free_port()
    server = gunicorn_launch(workers=1, port=port, WEB_MAX_REQUESTS=str(max_requests))
    one = json.dumps({"inputs": rows(1)})
    big = json.dumps({"inputs": rows(10_000)})
    headers = {"Content-Type": "application/json", "Authorization": f"Token {key}"}
    path = f"/api/v1/models/{MODEL}/predict/"

    def call(body: str) -> float:
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status == 200, response.status
        return time.perf_counter() - started

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                call(one)
                break
            except (ConnectionError, OSError):
                assert time.monotonic() < deadline, server.stderr.read().decode()[-2000:]
                time.sleep(0.3)
        for _ in range(50):
            call(one)
        first = worker_pid(server.pid)
        base = rss_mb(first)
        for _ in range(spike):
            call(big)
        time.sleep(0.5)
        spiked = rss_mb(worker_pid(server.pid)) if worker_pid(server.pid) == first else None
        slowest = max(call(one) for _ in range(after))
        time.sleep(1)
        last = worker_pid(server.pid)
        return {
            "base": base,
            "spike": spiked,
            "end": rss_mb(last),
            "replaced": last != first,
            "slowest": slowest,
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-requests", type=int, nargs="+", default=[0, 1000])
    parser.add_argument("--spike", type=int, default=10)
    parser.add_argument("--after", type=int, default=1200)
    args = parser.parse_args()
    key = token()
    print(f"one gunicorn worker, {args.spike} calls x 10,000 rows of {MODEL}, then {args.after}")
    print(f"one-row calls; RSS in MB (cpus: {os.cpu_count()})")
    for value in args.max_requests:
        r = run(value, key, args.spike, args.after)
        spike = f"{r['spike']:.0f}" if r["spike"] is not None else "(replaced)"
        print(
            f"WEB_MAX_REQUESTS={value:<5} base {r['base']:.0f}  after spike {spike}  "
            f"at the end {r['end']:.0f}  worker replaced: {r['replaced']}  "
            f"slowest one-row call after: {r['slowest'] * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
