"""Batch jobs on real worker processes: RQ on Redis, sharing a PostgreSQL database.

These start `manage.py rqworker` processes, so the database must be one that several
processes share: they run in the PostgreSQL pass of `make test` and skip on SQLite (the
in-memory test database cannot be shared). REQUIRE_REDIS=1 turns a missing Redis into a
failure instead of a skip.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from registry.batch.jobs import batch_job_create, batch_job_refresh
from registry.models import BatchChunk, BatchJob, JobStatus
from tests.conftest import csv_bytes
from tests.registry.test_batch import result_rows

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = django_settings.RQ_QUEUES["default"]["URL"]
RQ_TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.workers]


def _redis():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"Redis is required (REQUIRE_REDIS=1) but {REDIS_URL} does not answer.")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    return client


@pytest.fixture
def workers(settings):
    """Start worker processes on Redis against this test's PostgreSQL database."""
    if connection.vendor != "postgresql":
        pytest.skip("worker processes need a database they can share: runs on PostgreSQL")
    _redis().flushdb()
    settings.TASKS = RQ_TASKS
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "DATA_DIR": str(django_settings.DATA_DIR),
        "TASK_BACKEND": "rq",
        "TEST_REDIS_URL": REDIS_URL,
        "PORTAL_BATCH_CHUNK_ROWS": "400",
        "LOG_LEVEL": "WARNING",
    }
    started: list[subprocess.Popen] = []

    def start(count: int) -> list[subprocess.Popen]:
        import redis
        from rq import Worker

        for _ in range(count):
            name = f"w{len(started)}-{os.getpid()}"
            process = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "rqworker",
                    "default",
                    "--job-class",
                    "django_tasks_rq.Job",
                    "--name",
                    name,
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            process.worker_name = name
            started.append(process)
        deadline = time.monotonic() + 30
        client = redis.Redis.from_url(REDIS_URL)
        while len(Worker.all(connection=client)) < len(started):
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.1)
        return started

    yield start
    for process in started:
        if process.poll() is None:
            signal_all(family(process.pid), signal.SIGKILL)
        process.wait(timeout=10)


def family(pid: int) -> list[int]:
    """A process and its children (RQ forks a "work horse" in a session of its own)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return [pid, *children]


def signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def wait_for(job: BatchJob, timeout: float = 90) -> BatchJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch_job_refresh(job=job)
        job.refresh_from_db()
        if job.done:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job still {job.status} after {timeout} s")


@pytest.fixture
def numbered_rows(clinic_frame):
    frame = pd.concat([clinic_frame.drop(columns="high_risk")] * 10, ignore_index=True)[:4000]
    frame.insert(0, "n", range(len(frame)))
    return frame


def test_two_workers_score_one_job_together_every_row_once_in_order(
    workers, clinic_version, numbered_rows
):
    processes = workers(2)
    job = batch_job_create(
        version=clinic_version,
        upload=SimpleUploadedFile("rows.csv", csv_bytes(numbered_rows)),
        name="rows.csv",
        user=None,
    )
    job = wait_for(job)
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.chunks_total == 10 and job.rows_done == 4000
    rows = result_rows(job)
    assert [int(r["n"]) for r in rows] == list(range(4000))
    assert all(r["prediction"] in ("yes", "no") for r in rows)
    names = {p.worker_name for p in processes}
    assert {c.worker for c in job.chunks.all()} == names, "both workers took part"
    assert all(c.attempts == 1 for c in job.chunks.all())


def test_a_worker_killed_mid_chunk_is_noticed_and_its_rows_rescored(
    workers, clinic_version, numbered_rows, settings
):
    settings.PORTAL = {**settings.PORTAL, "BATCH_STALE_SECONDS": 1}
    processes = workers(2)
    by_name = {p.worker_name: p for p in processes}
    big = pd.concat([numbered_rows] * 5, ignore_index=True)
    big["n"] = range(len(big))
    job = batch_job_create(
        version=clinic_version,
        upload=SimpleUploadedFile("rows.csv", csv_bytes(big)),
        name="rows.csv",
        user=None,
    )
    victim = None
    deadline = time.monotonic() + 60
    while victim is None and time.monotonic() < deadline:
        running = BatchChunk.objects.filter(job=job, status=JobStatus.RUNNING).first()
        if running is not None:
            pids = family(by_name[running.worker].pid)
            signal_all(pids, signal.SIGSTOP)  # freeze the worker, then check it was mid-chunk
            running.refresh_from_db()
            if running.status == JobStatus.RUNNING and len(pids) > 1:
                victim = running
                signal_all(pids, signal.SIGKILL)
            else:
                signal_all(pids, signal.SIGCONT)
        time.sleep(0.005)
    assert victim is not None, "never caught a worker mid-chunk"
    time.sleep(1.2)  # past the stale limit
    job = wait_for(job)
    assert job.status == JobStatus.SUCCEEDED, job.message
    victim.refresh_from_db()
    assert victim.attempts == 2
    assert [int(r["n"]) for r in result_rows(job)] == list(range(len(big)))
