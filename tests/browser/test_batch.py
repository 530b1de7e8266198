"""Batch scoring in a real browser: upload a CSV of a few thousand rows (two of them bad),
watch the progress bar reach 100 %, see the two graphs drawn and the bad rows listed, and
download the scored file.

It runs twice:

- in process, on pytest-django's live server with the immediate task backend: the job runs
  inside the upload's request, once it commits, so the job page opens on a finished job;
- with a real worker: a portal of its own (gunicorn, two web processes) and a
  ``manage.py db_worker`` process, sharing a file-based SQLite database in a temporary
  directory (the test database is in memory, which no other process can open), the job split
  into chunks of 100 rows. The worker scores 3,000 rows in well under a second, faster than
  the page polls (every second), so the test freezes the worker (SIGSTOP) as soon as the API
  reports the job part-way, checks that the page's bar shows exactly that part, and lets the
  worker go on (SIGCONT) to the end.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from playwright.sync_api import expect

from registry.catalog.services import model_version_register
from tests.browser.conftest import PASSWORD, TIMEOUT_MS, BrowserLog, finish, log_in, watch
from tests.conftest import csv_bytes, portal_process_env
from tests.net import free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ROWS = 3000
BAD = {41: ("bmi", "heavy"), 2222: ("sex", "robot")}  # row: (input, a value it refuses)
TOKEN = "b" * 40  # the worker portal's analyst's API token


@pytest.fixture(scope="module")
def patients(clinic_frame) -> bytes:
    """3,000 clinic rows with a patient id first, two of them with a value the model refuses."""
    frame = pd.concat([clinic_frame.drop(columns="high_risk")] * 7, ignore_index=True)[:ROWS]
    frame = frame.astype(object)
    frame.insert(0, "patient", [f"p{n:04d}" for n in range(ROWS)])
    for row, (name, value) in BAD.items():
        frame.loc[row, name] = value
    return csv_bytes(frame)


# ------------------------------------------------------------------ the journey
def upload(page: Any, data: bytes) -> str:
    """Upload the CSV on the model's batch page; the id of the job page it leads to."""
    page.goto("/models/clinic/batch/")
    page.set_input_files(
        "#file", files=[{"name": "patients.csv", "mimeType": "text/csv", "buffer": data}]
    )
    page.get_by_role("button", name="Upload and score").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    return page.url.rstrip("/").rsplit("/", 1)[1]


def watch_bar(page: Any, timeout: float = 60) -> list[int]:
    """Every value the progress bar takes until it reaches 100 (checked every 50 ms)."""
    bar = page.locator("progress.progress")
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while not seen or seen[-1] < 100:
        assert time.monotonic() < deadline, f"the bar stopped at {seen}"
        value = int(bar.get_attribute("value"))
        if not seen or value != seen[-1]:
            seen.append(value)
        page.wait_for_timeout(50)
    return seen


def check_results_and_download(page: Any, snap: Any) -> None:
    """The finished job page: status, counts, both graphs drawn, the bad rows, the file."""
    status = page.locator("#job-status")
    expect(status.get_by_role("heading", name="Succeeded")).to_be_visible()
    expect(page.locator("[data-progress]")).to_contain_text(f"{ROWS:,} of {ROWS:,} rows (100%)")
    expect(page.locator("[data-progress]")).to_contain_text("2 rows could not be scored")
    assert status.get_attribute("hx-trigger") is None, "a finished job's page stops polling"
    expect(page.locator("figure.plot.is-drawn")).to_have_count(2)
    errors = page.locator("table[data-row-errors] tbody tr")
    expect(errors).to_have_count(2)
    listed = [errors.nth(i).locator("td").all_inner_texts() for i in range(2)]
    assert [(row, line) for row, line, _ in listed] == [(str(row), str(row + 2)) for row in BAD], (
        listed
    )
    for (_, _, problem), (name, _value) in zip(listed, BAD.values(), strict=True):
        assert f"({name}): " in problem, problem  # its label, then its column
    snap(page, "finished")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download the scored file").click()
    download = info.value
    assert download.suggested_filename == "patients-scored.csv"
    with open(download.path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[-5:] == [
        "prediction",
        "probability_no",
        "probability_yes",
        "problem",
        "warnings",
    ]
    assert [r["patient"] for r in rows] == [f"p{n:04d}" for n in range(ROWS)]
    unanswered = [n for n, r in enumerate(rows) if not r["prediction"]]
    assert unanswered == list(BAD)
    for n, (name, value) in BAD.items():
        assert rows[n][name] == value and rows[n]["probability_yes"] == ""
        assert f"({name}): " in rows[n]["problem"]
    answered = [r for n, r in enumerate(rows) if n not in BAD]
    assert {r["prediction"] for r in answered} == {"no", "yes"}
    # Rounded to three decimals (the full-precision link keeps every digit).
    assert all(
        abs(float(r["probability_no"]) + float(r["probability_yes"]) - 1) < 1.5e-3 for r in answered
    )


# ------------------------------------------------------------------ in process
def test_upload_watch_the_bar_see_the_graphs_and_download(
    open_page, make_browser_user, clinic_forest_bytes, clinic_csv, patients, snap
):
    model_version_register(
        name="clinic",
        artifact=clinic_forest_bytes,
        reference=clinic_csv,
        target="high_risk",
        alias="champion",
    )
    make_browser_user("ana")
    page = open_page()
    log_in(page, "ana")
    upload(page, patients)
    # The immediate backend scored the file inside the upload's request: the page opens done.
    assert watch_bar(page) == [100]
    check_results_and_download(page, snap)
    page.goto("/models/clinic/batch/")  # the job is in the user's history
    expect(page.get_by_role("link", name="patients.csv")).to_be_visible()


# ------------------------------------------------------------------ with a real worker
@dataclass
class Portal:
    url: str
    worker: subprocess.Popen
    logs: Path

    def job(self, id: str) -> dict[str, Any]:
        """The job as the API reports it to its owner."""
        request = urllib.request.Request(
            f"{self.url}/api/v1/jobs/{id}/", headers={"Authorization": f"Token {TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def tails(self) -> str:
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text().splitlines()[-15:])
            for log in sorted(self.logs.glob("*.log"))
        )


SETUP = """
from pathlib import Path
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from registry.catalog.services import model_version_register

call_command("migrate", interactive=False, verbosity=0)
user = User.objects.create_user("ana", password={password!r})
user.groups.add(Group.objects.get(name="analyst"))
Token.objects.create(user=user, key={token!r})
model_version_register(
    name="clinic",
    artifact=Path({artifact!r}).read_bytes(),
    reference=Path({reference!r}).read_bytes(),
    target="high_risk",
    alias="champion",
)
"""


@pytest.fixture
def worker_portal(tmp_path, clinic_forest_bytes, clinic_csv) -> Iterator[Portal]:
    """A portal of its own on a file-based SQLite database: gunicorn and a db_worker."""
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "clinic.skops").write_bytes(clinic_forest_bytes)
    (tmp_path / "clinic.csv").write_bytes(clinic_csv)
    env = portal_process_env(
        data, TASK_BACKEND="database", PORTAL_BATCH_CHUNK_ROWS="100", WEB_CONCURRENCY="2"
    )
    setup = SETUP.format(
        password=PASSWORD,
        token=TOKEN,
        artifact=str(tmp_path / "clinic.skops"),
        reference=str(tmp_path / "clinic.csv"),
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", setup],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    url = f"http://127.0.0.1:{free_port()}"
    started: list[subprocess.Popen] = []

    def start(name: str, *command: str) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        process.log = log
        started.append(process)
        return process

    start(
        "web",
        str(Path(sys.executable).parent / "gunicorn"),
        "--config",
        "gunicorn.conf.py",
        "--bind",
        url.removeprefix("http://"),
        "portal.wsgi",
    )
    worker = start(
        "worker", sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-reload"
    )
    portal = Portal(url, worker, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v1/health/", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"the portal did not start\n{portal.tails()}"
                assert all(p.poll() is None for p in started), portal.tails()
                time.sleep(0.1)
        yield portal
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)  # a frozen worker cannot stop
                process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            process.log.close()


@pytest.fixture
def worker_page(browser, worker_portal, browser_db, request) -> Iterator[Any]:
    """A page on the worker portal, watched for console errors and CSP violations and kept
    as a screenshot, as ``open_page`` does for the live server."""
    context = browser.new_context(
        base_url=worker_portal.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    log = BrowserLog()
    watch(context, log)
    page = context.new_page()
    yield page
    try:
        problems = finish(page, log, request.node.name)
    finally:
        context.close()
    assert not problems, "The browser reported problems:\n" + "\n".join(problems)


def test_the_bar_moves_while_a_db_worker_scores_the_file(
    worker_page, worker_portal, patients, snap
):
    page, portal = worker_page, worker_portal
    log_in(page, "ana")
    job_id = upload(page, patients)

    # Catch the worker part-way through the file and hold it there.
    deadline = time.monotonic() + 60
    while True:
        job = portal.job(job_id)
        if job["status"] == "running" and 0 < job["progress"] < 100:
            os.kill(portal.worker.pid, signal.SIGSTOP)
            break
        assert job["status"] in ("queued", "running"), (job, portal.tails())
        assert time.monotonic() < deadline, f"the worker never started: {job}\n{portal.tails()}"
        time.sleep(0.005)
    try:
        held = portal.job(job_id)  # what the database holds while the worker is frozen
        assert held["status"] == "running" and 0 < held["progress"] < 100, held
        bar = page.locator("progress.progress")
        expect(bar).to_have_attribute("value", str(held["progress"]), timeout=5_000)
        expect(page.locator("[data-progress]")).to_contain_text(
            f"{held['rows_done']:,} of {ROWS:,} rows ({held['progress']}%)"
        )
        assert page.locator("#job-status").get_attribute("hx-trigger") == "every 1s"
        snap(page, "part-way")
    finally:
        os.kill(portal.worker.pid, signal.SIGCONT)

    seen = watch_bar(page)
    assert seen[0] == held["progress"] and seen[-1] == 100, seen
    assert seen == sorted(seen), f"the bar went back: {seen}"
    check_results_and_download(page, snap)
    job = portal.job(job_id)
    assert (job["status"], job["rows_done"], job["rows_failed"]) == ("succeeded", ROWS, 2)
    assert [e["row"] for e in job["errors"]] == list(BAD)
