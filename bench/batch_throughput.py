"""Batch scoring through the job path vs. bare pandas + scikit-learn, and the worker's memory.

    .venv/bin/python bench/batch_throughput.py [ROWS ...]      (default: 100000 1000000)

For each size a CSV of ROWS x 10 inputs is made from the diabetes demo model's reference rows
(with jitter). "bare" is pd.read_csv + pipeline.predict + DataFrame.to_csv of the whole file in
one process. "job" is the real path: upload through batch_job_create, one `manage.py
db_worker` process splits, validates, scores and assembles it; the time runs from the upload
to the job's success. The worker's peak memory is its VmHWM from /proc.
"""

import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _setup import django_with_demo

os.environ["TASK_BACKEND"] = "database"
django_with_demo()

from django.conf import settings  # noqa: E402
from django.core.files import File  # noqa: E402

from registry.batch.jobs import batch_job_create  # noqa: E402
from registry.catalog.selectors import model_version_resolve  # noqa: E402
from registry.models import BatchJob  # noqa: E402
from registry.runtime import reference_frame, version_estimator, version_interface  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sizes = [int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]
version = model_version_resolve(name="diabetes")
interface = version_interface(version)
estimator = version_estimator(version)
reference = reference_frame(version)[interface.names]
rng = np.random.default_rng(0)


def make_csv(rows: int, path: Path) -> None:
    frame = reference.sample(rows, replace=True, random_state=0).reset_index(drop=True)
    for f in interface.fields:
        if f.type == "number":
            frame[f.name] = (frame[f.name] * rng.normal(1, 0.03, rows)).round(3)
    frame.to_csv(path, index=False)


def bare(path: Path) -> float:
    start = time.perf_counter()
    frame = pd.read_csv(path)
    frame["prediction"] = estimator.predict(frame[interface.names])
    frame.to_csv(io.StringIO(), index=False)
    return time.perf_counter() - start


def job(path: Path) -> tuple[float, int, BatchJob]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--interval",
            "0.05",
            "--no-startup-delay",
            "--no-reload",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(3)  # let it import Django and the model stack before the clock starts
    start = time.perf_counter()
    with open(path, "rb") as handle:
        created = batch_job_create(
            version=version, upload=File(handle, name=path.name), name=path.name, user=None
        )
    while True:
        created.refresh_from_db()
        if created.done:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    status = Path(f"/proc/{worker.pid}/status").read_text()
    peak_kb = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
    worker.terminate()
    worker.wait(timeout=10)
    return elapsed, peak_kb, created


print(
    f"diabetes v{version.number}: {len(interface.names)} inputs, "
    f"{version.estimator_class.rsplit('.', 1)[-1]}; "
    f"chunk {settings.PORTAL['BATCH_CHUNK_ROWS']:,} rows"
)
with tempfile.TemporaryDirectory() as tmp:
    for rows in sizes:
        path = Path(tmp) / f"rows-{rows}.csv"
        make_csv(rows, path)
        bare_s = bare(path)
        job_s, peak_kb, result = job(path)
        assert result.status == "succeeded", result.message
        print(f"\n{rows:>9,} rows ({path.stat().st_size / 1e6:.0f} MB)")
        print(f"  bare pandas+predict+to_csv {bare_s:7.2f} s  {rows / bare_s:>10,.0f} rows/s")
        print(f"  job path (1 worker)        {job_s:7.2f} s  {rows / job_s:>10,.0f} rows/s")
        print(f"  throughput ratio job/bare  {bare_s / job_s:7.2f}x")
        print(f"  worker peak memory (RSS)   {peak_kb / 1024:7.0f} MB")
