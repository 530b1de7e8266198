"""Throttles count in a cache every process shares: two real gunicorn workers, one budget.

A portal of its own (a SQLite file in a temporary folder, a model, an analyst's token) served
by gunicorn with two sync workers; model calls are sent one after another, over fresh
connections, and the access log says which worker answered each. With a per-process cache
each worker would let the whole rate through.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]
RATE = 10
CALLS = 30

SETUP = textwrap.dedent(
    """
    import django
    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token
    import skops.io as sio
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression
    from registry.catalog.services import model_version_register

    call_command("migrate", verbosity=0)
    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.data[["age", "bmi", "bp"]].assign(progression=data.target)
    model = LinearRegression().fit(frame[["age", "bmi", "bp"]], frame["progression"])
    model_version_register(name="diabetes", artifact=sio.dumps(model),
                           reference=frame.to_csv(index=False).encode(), target="progression")
    user = User.objects.create_user("ana", password="unused-in-this-test")
    user.groups.add(Group.objects.get_or_create(name="analyst")[0])
    print(Token.objects.create(user=user).key)
    """
)


def _redis_url() -> str:
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"Redis is required (REQUIRE_REDIS=1) but {url} does not answer.")
        pytest.skip(f"Redis does not answer at {url}")
    return url


def _call(port: int, token: str, path: str, body: dict | None = None) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError):  # not listening yet
        return 0


@pytest.mark.parametrize("cache", ["redis", "database"])
def test_two_gunicorn_workers_share_one_rate_limit(tmp_path, cache):
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("a portal of its own on SQLite: once, in the SQLite pass, is enough")
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SECRET_KEY": "throttle-test",
        "DATA_DIR": str(tmp_path),
        "TASK_BACKEND": "immediate",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PORTAL_API_RATE": f"{RATE}/day",  # one window for the whole test
        "LOG_LEVEL": "WARNING",
    }
    if cache == "redis":
        env["REDIS_URL"] = _redis_url()
        # Another run against the same Redis at the same time (one day-long window, the
        # same user) must not count here: _redis_url's flush only clears what came before.
        env["CACHE_KEY_PREFIX"] = tmp_path.name + str(time.time_ns())
    setup = subprocess.run(
        [sys.executable, "-c", SETUP], cwd=ROOT, env=env, capture_output=True, timeout=300
    )
    assert setup.returncode == 0, setup.stderr.decode()[-2000:]
    token = setup.stdout.decode().split()[-1]
    port, log = free_port(), tmp_path / "access.log"
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--config",
            "gunicorn.conf.py",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(log),
            "--access-logformat",
            "%(p)s %(s)s %(U)s",
            "--no-control-socket",
            "portal.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while _call(port, token, "/api/v1/health/") != 200:
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.3)
        row = {"age": 50, "bmi": 26.4, "bp": 93}
        statuses = [
            _call(port, token, "/api/v1/models/diabetes/predict/", {"inputs": [row]})
            if i % 2
            else _call(port, token, "/api/v1/models/diabetes/whatif/", {"inputs": row})
            for i in range(CALLS)
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert statuses.count(200) == RATE, statuses
    assert statuses.count(429) == CALLS - RATE, statuses
    assert statuses[:RATE] == [200] * RATE
    served = re.findall(r"^<(\d+)> \d+ /api/v1/models/", log.read_text(), re.M)
    assert len(served) == CALLS
    assert len(set(served)) == 2, "both workers should have answered some calls"
