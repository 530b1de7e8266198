"""The real `manage.py db_worker`, in a process of its own, delivers a signed webhook (after
two 500s) and answers a shadow, while this process only stores champion answers.

Runs in the PostgreSQL pass (the SQLite test database is in memory: another process cannot
share it)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from registry.catalog.services import alias_set, model_version_register
from registry.events.services import webhook_create
from registry.models import DeliveryAttempt, ShadowAnswer, Source
from registry.predict.services import prediction_run
from registry.releases.services import shadow_start
from registry.releases.watch import release_watch_reset
from tests.receivers import DATABASE_TASKS, Receiver

ROOT = Path(__file__).resolve().parents[2]
WORKER_OPTIONS = ("--interval", "0.05", "--no-reload", "--no-startup-delay")
ROW = {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93.0, "s5": 4.6, "region": "north"}

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_process(settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("a worker process needs a database it can share: runs on PostgreSQL")
    settings.TASKS = DATABASE_TASKS
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "DATA_DIR": str(django_settings.DATA_DIR),
        "TASK_BACKEND": "database",
        "PORTAL_WEBHOOK_ALLOW_PRIVATE": "1",
        "PORTAL_WEBHOOK_BACKOFF_SECONDS": "0.1",
        "LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", *WORKER_OPTIONS],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )
    yield process
    process.terminate()
    process.wait(timeout=30)


def _wait(done, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the worker process did not finish in time"
        time.sleep(0.1)


def test_the_worker_process_delivers_and_shadows(
    worker_process, settings, clinic_version, clinic_logistic_bytes, clinic_csv
):
    settings.PORTAL = {**settings.PORTAL, "WEBHOOK_ALLOW_PRIVATE": True}
    receiver = Receiver(secret="s3cret", statuses=[500, 500, 204]).start()
    try:
        webhook_create(url=receiver.url, events=["alias.moved"], secret="s3cret", user=None)
        alias_set(model=clinic_version.model, name="challenger", version=clinic_version)
        _wait(lambda: len(receiver.received) == 3)
    finally:
        receiver.stop()
    assert all(r.signed for r in receiver.received)
    statuses = DeliveryAttempt.objects.order_by("number").values_list("status_code", flat=True)
    assert list(statuses) == [500, 500, 204]

    model_version_register(
        name="clinic", artifact=clinic_logistic_bytes, reference=clinic_csv, target="high_risk"
    )
    release_watch_reset()
    shadow_start(model=clinic_version.model, number=2, user=None)
    answer = prediction_run(version=clinic_version, rows=[ROW], user=None, source=Source.API)
    _wait(lambda: ShadowAnswer.objects.filter(champion=answer.prediction).exists())
    pair = ShadowAnswer.objects.select_related("answer").get()
    assert pair.answer.source == Source.SHADOW and pair.answer.version.number == 2
