"""gunicorn.conf.py replaces workers after a number of requests, so a worker that grew in a
spike of large calls gives its memory back (bench/worker_memory.py measures how much)."""

import os
import runpy
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import portal_process_env
from tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_workers_are_replaced_after_a_number_of_requests_by_default(monkeypatch):
    monkeypatch.delenv("WEB_MAX_REQUESTS", raising=False)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["max_requests"] > 0
    # Spread out, so the workers are not all replaced at the same moment.
    assert 0 < conf["max_requests_jitter"] < conf["max_requests"]


def test_a_real_worker_is_replaced_after_its_requests(tmp_path):
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("gunicorn's own behaviour: once, in the SQLite pass, is enough")
    # jitter 2: replaced within 22 requests
    env = portal_process_env(tmp_path, WEB_MAX_REQUESTS="20")
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            *("--config", "gunicorn.conf.py", "--workers", "1", "--bind", f"127.0.0.1:{port}"),
            *("--access-logfile", str(tmp_path / "access.log"), "portal.wsgi"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    try:
        deadline = time.monotonic() + 60
        while not children.read_text().split():
            assert time.monotonic() < deadline, "no worker started"
            time.sleep(0.2)
        first = children.read_text().split()
        seen = set(first)
        answered = 0
        for _ in range(60):
            try:
                # The login page: no database needed (the health check's is not migrated here).
                urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=10)
                answered += 1
            except OSError:
                time.sleep(0.2)  # between the old worker and the new
            seen.update(children.read_text().split())
        assert len(seen) > 1, f"the worker {first} was never replaced"
    finally:
        server.terminate()
        server.wait(timeout=30)
    # A replaced worker leaves without Python's teardown (worker_exit): its log still holds
    # every call it answered.
    logged = (tmp_path / "access.log").read_text().count("GET /accounts/login/")
    assert logged == answered


@pytest.mark.parametrize("code", [0, 3])
def test_a_worker_leaves_with_its_own_exit_code_and_its_output_written(code):
    # gunicorn's worker ends by raising SystemExit (3: it could not boot, which stops the
    # master) and calls worker_exit on the way out.
    script = (
        "import runpy, sys; "
        "conf = runpy.run_path('gunicorn.conf.py'); "
        "print('answered', flush=False)\n"
        "try:\n"
        f"    sys.exit({code})\n"
        "finally:\n"
        "    conf['worker_exit'](None, None)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == code
    assert done.stdout == "answered\n"


def test_the_collector_is_off_while_the_app_loads_and_on_in_every_worker():
    # In a process of its own: reading the config turns the collector off, as in gunicorn's
    # master before it loads the app.
    code = (
        "import gc, runpy; "
        "conf = runpy.run_path('gunicorn.conf.py'); "
        "assert not gc.isenabled(), 'on while loading'; "
        "conf['when_ready'](None); "
        "assert gc.isenabled(), 'off in the master once loaded'; "
        # A reload (SIGHUP) reads the config again, and when_ready does not run again.
        "runpy.run_path('gunicorn.conf.py'); "
        "conf['post_fork'](None, None); "
        "assert gc.isenabled(), 'off in a worker forked after a reload'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
