"""A real ``manage.py db_worker`` stopped the way ``bin/run-portal`` stops it leaves quietly.

Ctrl-C on ``make run`` sends SIGINT to the whole foreground group (the worker included), and
the supervising loop then sends the worker a TERM: neither, nor both, may print a traceback.
"""

import signal
import time

import pytest

from tests.conftest import portal_process_env
from tests.processes import django_shell
from tests.registry.test_db_worker_lock import start_worker


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    data = tmp_path_factory.mktemp("worker") / "data"
    data.mkdir()
    env = portal_process_env(data, TASK_BACKEND="database")
    django_shell(
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
    worker = start_worker(env, log_path)
    try:
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
