"""SQLite's one write lock: registration does not hold it while it works, and a request that
cannot get it answers 503 (retry), never 500. Runs a real Django process on a real SQLite file:
the suite's own test database is in memory, where there is no lock to contend for."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, sqlite3, threading, time
    import django
    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client
    import pandas as pd, skops.io as sio
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor

    call_command("migrate", verbosity=0)
    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.data[["age", "bmi", "bp", "s5"]].assign(progression=data.target)
    model = sio.dumps(RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0)
                      .fit(frame.drop(columns="progression"), frame["progression"]))
    big = pd.concat([frame] * 500, ignore_index=True).to_csv(index=False).encode()
    from registry.catalog.services import model_version_register
    path = settings.DATABASES["default"]["NAME"]

    done, errors = threading.Event(), []
    def register():
        try:
            model_version_register(name="big", artifact=model, reference=big, target="progression")
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            done.set()
    started = time.monotonic()
    threading.Thread(target=register).start()
    attempts, refused = 0, 0
    while not done.is_set():
        other = sqlite3.connect(path, timeout=1, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # take the write lock, as any write would
            other.execute("ROLLBACK")
        except sqlite3.OperationalError:
            refused += 1
        attempts += 1
        other.close()
        time.sleep(0.1)
    took = time.monotonic() - started

    analyst = User.objects.create_user("ana", password="pw")
    analyst.groups.add(Group.objects.get_or_create(name="analyst")[0])
    client = Client()
    client.force_login(analyst)
    row = {"age": 50, "bmi": 26, "bp": 90, "s5": 4.6}
    stored = client.post("/api/v1/models/big/predict/", {"inputs": [row]},
                         content_type="application/json").json()["id"]
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # someone else writes for a long time
    api = client.post("/api/v1/models/big/predict/", {"inputs": [row]},
                      content_type="application/json")
    page = client.post(f"/predictions/{stored}/", {"actual": "120"})
    holder.execute("ROLLBACK")
    print(json.dumps({"errors": errors, "took": took, "attempts": attempts, "refused": refused,
                      "api": [api.status_code, api.get("Retry-After"), api.json()],
                      "page": [page.status_code, page.get("Retry-After"),
                               page.content.decode()]}))
    """
)


def test_registration_leaves_the_write_lock_free_and_a_locked_write_is_a_503(tmp_path):
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("SQLite's write lock only; PostgreSQL locks rows")
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SECRET_KEY": "lock-test",
        "DATA_DIR": str(tmp_path),
        "TASK_BACKEND": "immediate",
        "SQLITE_TIMEOUT": "1",
        "DEBUG": "1",  # static files from the finders: no collectstatic here
        "ALLOWED_HOSTS": "testserver",
        "LOG_LEVEL": "CRITICAL",
    }
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, timeout=300
    )
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    result = json.loads(run.stdout.decode().strip().splitlines()[-1])
    assert result["errors"] == []
    # Registration took seconds (reading 221,000 rows, predicting, metrics); other writers
    # got the lock throughout instead of waiting for all of it.
    assert result["refused"] == 0, result
    assert result["attempts"] >= 5, result
    status, retry_after, body = result["api"]
    assert (status, retry_after, body["error"]["code"]) == (503, "5", "busy")
    status, retry_after, html = result["page"]
    assert (status, retry_after) == (503, "5") and "The portal is busy" in html
