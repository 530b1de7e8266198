"""A real MLflow tracking server for the import tests, one per test session.

MLflow cannot share the portal's virtualenv, so it lives in .venv-mlflow (``make
.venv-mlflow/.installed``, which ``make test`` builds) and is only ever run as a subprocess:
``mlflow server`` on a free port with a SQLite store and local artifacts, and
tests/mlflow_script.py to log models and to ask MLflow for its own predictions. Without
.venv-mlflow these tests are skipped with the reason, unless REQUIRE_MLFLOW=1 (set by .ci/run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.net import free_port

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_VENV = ROOT / ".venv-mlflow"
SCRIPT = ROOT / "tests" / "mlflow_script.py"
# MLflow would otherwise report usage to its makers: there is no network here to wait for.
QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def _need_mlflow() -> Path:
    python = MLFLOW_VENV / "bin" / "python"
    if not python.exists():
        reason = ".venv-mlflow is missing (make .venv-mlflow/.installed); MLflow tests skipped"
        if os.environ.get("REQUIRE_MLFLOW") == "1":
            pytest.fail(f"REQUIRE_MLFLOW=1 but {reason.split(';')[0]}", pytrace=False)
        pytest.skip(reason)
    return python


@dataclass
class MlflowServer:
    uri: str
    out: Path
    logged: dict[str, Any]

    def set_alias(self, *, name: str, alias: str, version: int) -> None:
        """Point an alias in MLflow, through its REST API as its own client does."""
        body = json.dumps({"name": name, "alias": alias, "version": str(version)}).encode()
        request = urllib.request.Request(
            f"{self.uri}/api/2.0/mlflow/registered-models/alias",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200

    def run(self, *args: str) -> Any:
        """Run tests/mlflow_script.py in .venv-mlflow against this server; its JSON answer."""
        done = subprocess.run(
            [str(MLFLOW_VENV / "bin" / "python"), str(SCRIPT), *args],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **QUIET, "MLFLOW_TRACKING_URI": self.uri},
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory) -> Iterator[MlflowServer]:
    """An ``mlflow server`` with the houses models logged and registered (see the script)."""
    _need_mlflow()
    home = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [
            str(MLFLOW_VENV / "bin" / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{home / 'mlflow.db'}",
            "--artifacts-destination",
            str(home / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=home,
        env={**os.environ, **QUIET},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its uvicorn workers go with it at the end
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start: {(home / 'server.log').read_text()}")
            time.sleep(0.5)
        mlflow = MlflowServer(uri=uri, out=home / "logged", logged={})
        mlflow.logged = mlflow.run("log", str(mlflow.out))
        yield mlflow
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=5)  # a throwaway store: no need to wait for a graceful stop
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
