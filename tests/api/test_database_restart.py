"""The real PostgreSQL restarts while 8 clients call a real gunicorn portal (2 workers): every
call is answered 200 or 503 (``unavailable``, with Retry-After), never 500; every 200 is
stored; once the server is back the portal answers again by itself (nothing restarted), and
the task worker, which waited the outage out, scores a batch job queued after it.

It restarts the server every test on this machine shares, so it runs only on the PostgreSQL
pass of CI (``CI`` set) or when asked (``PORTAL_TEST_RESTART_POSTGRES=1``; on a shared
machine, under /work/tools/exclusive). The outage is one restart, a few seconds, and the
server is started again whatever happens. The portal has a database of its own, dropped after.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import portal_process_env
from tests.net import free_port
from tests.processes import django_shell

ROOT = Path(__file__).resolve().parents[2]
CLIENTS, WORKERS = 8, 2
TOKEN = "feedfacefeedfacefeedfacefeedfacefeedface"
ROW = {"age": 50, "sex": "female", "bmi": 26.0, "bp": 90.0, "s5": 4.6, "region": "north"}

SETUP = """
from pathlib import Path
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from registry.catalog.services import model_version_register
call_command("migrate", interactive=False, verbosity=0)
user = User.objects.create_user("ana", password="pw")
user.groups.add(Group.objects.get(name="analyst"))
Token.objects.create(user=user, key={token!r})
model_version_register(name="clinic", artifact=Path({artifact!r}).read_bytes(),
                       reference=Path({reference!r}).read_bytes(), target="high_risk",
                       alias="champion")
"""

SUBMIT = """
from pathlib import Path
from django.core.files.base import ContentFile
from registry.models import BatchJob, ModelVersion
from registry.batch.jobs import batch_job_create
import time
version = ModelVersion.objects.get(model__name="clinic")
job = batch_job_create(version=version, upload=ContentFile(Path({csv!r}).read_bytes()),
                       name="clinic.csv", user=None)
deadline = time.monotonic() + 120
while job.status not in ("succeeded", "failed") and time.monotonic() < deadline:
    time.sleep(0.3)
    job.refresh_from_db()
print(job.status, job.rows_done)
"""


def _cluster() -> list[str]:
    (version,) = os.listdir("/etc/postgresql")
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]


def _server_answers(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url, dbname="postgres", connect_timeout=2).close()
        return True
    except psycopg.OperationalError:
        return False


def _bring_back(url: str) -> None:
    """Start the server if it is not up, and wait until it accepts connections."""
    deadline = time.monotonic() + 60
    while not _server_answers(url):
        subprocess.run([*_cluster(), "start"], capture_output=True, timeout=60)
        assert time.monotonic() < deadline, "PostgreSQL did not come back"
        time.sleep(0.5)


@dataclass
class Answer:
    started: float
    status: int
    retry_after: str | None
    body: dict


def _call(url: str, payload: bytes) -> tuple[int, str | None, dict]:
    request = urllib.request.Request(
        f"{url}/api/v1/models/clinic/predict/",
        data=payload,
        headers={"Content-Type": "application/json", "Authorization": f"Token {TOKEN}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Retry-After"), json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Retry-After"), json.loads(exc.read() or b"{}")


@pytest.fixture
def database_url(django_db_blocker):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("restarts PostgreSQL: the PostgreSQL pass only")
    if not (os.environ.get("CI") or os.environ.get("PORTAL_TEST_RESTART_POSTGRES")):
        pytest.skip(
            "restarts the PostgreSQL server others share: runs in CI, or with "
            "PORTAL_TEST_RESTART_POSTGRES=1 (under /work/tools/exclusive)"
        )
    if shutil.which("pg_ctlcluster") is None or not os.path.isdir("/etc/postgresql"):
        pytest.fail("PostgreSQL's pg_ctlcluster is needed to restart the server")
    import psycopg
    from psycopg import sql

    name = f"{urlparse(url).path.lstrip('/') or 'portal'}_restart"
    with psycopg.connect(url, dbname="postgres", autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlparse(url)._replace(path=f"/{name}").geturl()
    finally:
        _bring_back(url)
        # This process's own connections did not survive the restart: the next tests get new
        # ones.
        from django.db import connections

        with django_db_blocker.unblock():
            connections.close_all()
        with psycopg.connect(url, dbname="postgres", autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_a_postgresql_restart_under_load_answers_503_then_recovers(
    tmp_path, database_url, clinic_forest_bytes, clinic_csv
):
    (tmp_path / "clinic.skops").write_bytes(clinic_forest_bytes)
    (tmp_path / "clinic.csv").write_bytes(clinic_csv)
    data = tmp_path / "data"
    data.mkdir()
    env = portal_process_env(
        data, DATABASE_URL=database_url, PORTAL_API_RATE="1000000/min", WEB_THREADS="4"
    )
    setup = SETUP.format(
        token=TOKEN,
        artifact=str(tmp_path / "clinic.skops"),
        reference=str(tmp_path / "clinic.csv"),
    )
    django_shell(env, setup)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 (closed with the process)
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            *("--config", "gunicorn.conf.py", "--workers", str(WORKERS)),
            *("--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null"),
            "portal.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    worker_env = {**env, "TASK_BACKEND": "database"}
    worker_log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 (closed with the process)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-reload"],
        cwd=ROOT,
        env=worker_env,
        stdout=worker_log,
        stderr=worker_log,
    )
    answers: list[Answer] = []
    stop = threading.Event()
    payload = json.dumps({"inputs": [ROW]}).encode()

    def client() -> None:
        while not stop.is_set():
            started = time.monotonic()
            answers.append(Answer(started, *_call(url, payload)))

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v1/health/", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, "the portal did not start"
                time.sleep(0.3)
        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(3)  # load before the outage
        try:
            restart = subprocess.run(
                [*_cluster(), "restart"], capture_output=True, text=True, timeout=60
            )
            assert restart.returncode == 0, restart.stderr
        finally:
            _bring_back(os.environ["DATABASE_URL"])
        back = time.monotonic()
        time.sleep(6)  # load after it
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        with urllib.request.urlopen(f"{url}/api/v1/health/", timeout=10) as health:
            assert json.load(health) == {"status": "ok", "database": "ok"}
        worker_alive = worker.poll() is None
        job = django_shell(worker_env, SUBMIT.format(csv=str(tmp_path / "clinic.csv")))
    finally:
        stop.set()
        for process in (server, worker):
            process.terminate()
            process.wait(timeout=30)
        log.close()
        worker_log.close()

    import psycopg

    with psycopg.connect(database_url) as db:
        stored = {str(row[0]) for row in db.execute("SELECT id FROM registry_prediction")}
    counts: dict[int, int] = {}
    for answer in answers:
        counts[answer.status] = counts.get(answer.status, 0) + 1
    print(f"calls by status: {counts}; stored: {len(stored)}")
    assert set(counts) <= {200, 503}, (counts, (tmp_path / "gunicorn.log").read_text()[-3000:])
    unavailable = [a for a in answers if a.status == 503]
    assert all(
        (a.retry_after, a.body["error"]["code"]) == ("5", "unavailable") for a in unavailable
    )
    answered = {a.body["id"] for a in answers if a.status == 200}
    assert answered <= stored  # every answer given is stored...
    assert len(stored) <= len(answered) + len(unavailable)  # ...and nothing else but retries
    # Once the server is back, the same workers answer again, on new connections.
    after = [a for a in answers if a.started > back + 2]
    assert after and all(a.status == 200 for a in after), counts
    # The task worker did not exit, and scored a whole job after the outage.
    assert worker_alive, (tmp_path / "worker.log").read_text()[-3000:]
    assert job == "succeeded 442", (tmp_path / "worker.log").read_text()[-3000:]
