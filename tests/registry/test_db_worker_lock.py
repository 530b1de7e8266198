"""A real ``manage.py db_worker`` on a real SQLite file outlasts the write lock held by someone
else for longer than its SQLITE_TIMEOUT, then scores a batch job queued afterwards.

django-tasks-db's own worker exits on the "database is locked" of its ``BEGIN EXCLUSIVE``, and
batch jobs wait until something restarts it.
"""

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import portal_process_env
from tests.processes import django_shell

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
from pathlib import Path
from django.core.management import call_command
from registry.catalog.services import model_version_register
call_command("migrate", interactive=False, verbosity=0)
model_version_register(name="clinic", artifact=Path({artifact!r}).read_bytes(),
                       reference=Path({reference!r}).read_bytes(), target="high_risk")
"""

SUBMIT = """
from pathlib import Path
from django.core.files.base import ContentFile
from registry.models import ModelVersion
from registry.batch.jobs import batch_job_create
version = ModelVersion.objects.get(model__name="clinic")
print(batch_job_create(version=version, upload=ContentFile(Path({csv!r}).read_bytes()),
                       name="clinic.csv", user=None).pk)
"""


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """A real ``manage.py db_worker`` logging to ``log_path``, once it has started."""
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-reload"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: "Starting worker" in log_path.read_text(), 60, "the worker never started")
    except AssertionError:
        worker.kill()
        worker.wait()
        raise
    return worker


def test_the_worker_waits_out_a_locked_database_and_scores_the_next_job(
    tmp_path, clinic_forest_bytes, clinic_csv
):
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("SQLite's write lock only")
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "clinic.skops").write_bytes(clinic_forest_bytes)
    (tmp_path / "clinic.csv").write_bytes(clinic_csv)
    env = portal_process_env(data, TASK_BACKEND="database", SQLITE_TIMEOUT="1")
    django_shell(
        env,
        SETUP.format(
            artifact=str(tmp_path / "clinic.skops"), reference=str(tmp_path / "clinic.csv")
        ),
    )
    log_path = tmp_path / "worker.log"
    worker = start_worker(env, log_path)
    try:
        # Someone else writes for 3 s: three times the worker's SQLITE_TIMEOUT.
        holder = sqlite3.connect(data / "db.sqlite3", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        time.sleep(3)
        holder.execute("ROLLBACK")
        holder.close()
        log = log_path.read_text()
        assert worker.poll() is None, f"the worker exited ({worker.returncode}):\n{log[-3000:]}"
        assert "The database is locked" in log, log[-3000:]  # it did meet the lock

        job = django_shell(env, SUBMIT.format(csv=str(tmp_path / "clinic.csv")))
        reader = sqlite3.connect(data / "db.sqlite3")

        def finished() -> bool:
            row = reader.execute(
                "SELECT status, rows_done, rows_total FROM registry_batchjob WHERE id = ?",
                (job.replace("-", ""),),
            ).fetchone()
            return row is not None and row[0] in ("succeeded", "failed")

        _wait_for(finished, 120, f"the job never finished:\n{log_path.read_text()[-3000:]}")
        status, done, total = reader.execute(
            "SELECT status, rows_done, rows_total FROM registry_batchjob WHERE id = ?",
            (job.replace("-", ""),),
        ).fetchone()
        assert (status, done, total) == ("succeeded", 442, 442)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
