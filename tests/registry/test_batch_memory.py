"""A real task worker (``manage.py db_worker``) scores a file of the model's inputs plus
200,000 other columns and 50 rows (about 20 MB) within a bounded memory, and gives every
column back. The red team's file peaked the worker at 1.28 GB: each chunk was parsed into a
frame of every column. Run under /work/tools/exclusive (it measures a process's memory).
"""

from __future__ import annotations

import csv
import io
import itertools
import sqlite3
import string
import time

from tests import processes as p
from tests.conftest import portal_process_env

EXTRA = 200_000
ROWS = 50
PEAK_LIMIT_MB = 500  # the worker's own start-up is ~250 MB; was 1,280 MB on this file

SETUP = """
from pathlib import Path
from django.core.files import File
from django.core.management import call_command
from registry.catalog.selectors import model_version_resolve
from registry.batch.jobs import batch_job_create
from registry.catalog.services import model_version_register

call_command("migrate", interactive=False, verbosity=0)
version = model_version_register(
    name="clinic", artifact=Path({forest!r}).read_bytes(),
    reference=Path({reference!r}).read_bytes(), target="high_risk",
)
with open({wide!r}, "rb") as handle:
    job = batch_job_create(version=version, upload=File(handle, name="wide.csv"),
                           name="wide.csv", user=None)
print(job.pk.hex)
"""


def short_names(count: int, taken: list[str]) -> list[str]:
    """``count`` distinct column names of 3-4 letters, none in ``taken``, so the header stays
    under 1 MiB."""
    names = (
        "".join(letters)
        for n in (3, 4)
        for letters in itertools.product(string.ascii_lowercase, repeat=n)
    )
    return list(itertools.islice((n for n in names if n not in taken), count))


def test_a_worker_scores_200000_extra_columns_in_bounded_memory(
    tmp_path, clinic_frame, clinic_forest_bytes, clinic_csv
):
    inputs = clinic_frame.drop(columns="high_risk").head(ROWS)
    names = short_names(EXTRA, list(inputs.columns))
    wide = tmp_path / "wide.csv"
    with open(wide, "w") as out:
        out.write(",".join([*inputs.columns, *names]) + "\n")
        filler = ",".join("1" for _ in names)
        for row in inputs.itertuples(index=False):
            out.write(",".join(map(str, row)) + "," + filler + "\n")
    (tmp_path / "forest.skops").write_bytes(clinic_forest_bytes)
    (tmp_path / "clinic.csv").write_bytes(clinic_csv)
    data = tmp_path / "data"
    data.mkdir()
    env = portal_process_env(
        data, TASK_BACKEND="database", PORTAL_BATCH_MAX_COLUMNS=str(EXTRA + 100)
    )
    setup = SETUP.format(
        forest=str(tmp_path / "forest.skops"),
        reference=str(tmp_path / "clinic.csv"),
        wide=str(wide),
    )
    job_id = p.django_shell(env, setup).split()[-1]
    worker = p.task_worker(env, tmp_path / "worker.log")
    try:
        database = sqlite3.connect(data / "db.sqlite3", timeout=10)
        deadline = time.monotonic() + 120
        while True:
            status, message, output = database.execute(
                "SELECT status, message, output_file FROM registry_batchjob WHERE id = ?",
                (job_id,),
            ).fetchone()
            if status in ("succeeded", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        peak = p.memory_mb(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert status == "succeeded", message
    assert peak < PEAK_LIMIT_MB, f"the worker peaked at {peak:.0f} MB"
    with open(data / "media" / output, newline="") as handle:
        result = list(csv.reader(io.StringIO(handle.read())))
    assert len(result) == ROWS + 1
    assert result[0][: len(inputs.columns) + EXTRA] == [*inputs.columns, *names]
    assert all(
        row[len(inputs.columns) : len(inputs.columns) + EXTRA] == ["1"] * EXTRA
        for row in result[1:]
    )
    assert result[0][-2:] == ["problem", "warnings"]
    assert all(row[-2:] == ["", ""] for row in result[1:])
