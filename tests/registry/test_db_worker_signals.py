"""A real ``manage.py db_worker`` stopped the way ``bin/run-portal`` stops it leaves quietly.

Ctrl-C on ``make run`` sends SIGINT to the whole foreground group (the worker included), and
the supervising loop then sends the worker a TERM: neither, nor both, may print a traceback.
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import manage_shell, portal_process_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    data = tmp_path_factory.mktemp("worker") / "data"
    data.mkdir()
    env = portal_process_env(data, TASK_BACKEND="database")
    manage_shell(
        env,
        "from django.core.management import call_command\n"
        "call_command('migrate', interactive=False, verbosity=0)\n",
    )
    return env


@pytest.mark.parametrize(
    "signals",
    [[signal.SIGINT], [signal.SIGTERM], [signal.SIGINT, signal.SIGTERM]],
    ids=["ctrl-c", "term", "ctrl-c-then-term"],
)
def test_the_worker_stops_on_a_signal_with_code_0_and_no_traceback(env, tmp_path, signals):
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-reload"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "Starting worker" not in log_path.read_text():
            assert time.monotonic() < deadline, "the worker never started"
            time.sleep(0.2)
        time.sleep(0.5)  # in its polling loop, where Ctrl-C usually finds it
        for number in signals:
            worker.send_signal(number)
        code = worker.wait(30)
    finally:
        worker.kill()
        worker.wait()
    output = log_path.read_text()
    assert "Traceback" not in output, output
    assert code == 0, output
