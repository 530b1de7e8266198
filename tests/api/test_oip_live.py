"""The Open Inference Protocol over real sockets, from real client libraries, across processes.

Two portals of their own (two gunicorn servers, one worker process each) share a file-based
SQLite database in a temporary directory (the test database is in memory, which no other
process can open), holding the clinic model (numbers and categories) in two versions.

- NVIDIA's ``tritonclient.http`` (JSON and binary tensors) and requests built by MLServer's own
  ``PandasCodec`` and ``InferenceRequest`` get the answers ``/api/v1/…/predict/`` gives;
- a champion moved, a role taken away and a token revoked by a third process hold from the
  next request on, in both servers, which had already answered (and cached) before.
"""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import portal_process_env
from tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "c" * 40  # an analyst's
DOOMED = "d" * 40  # another analyst's, revoked by the last test
ROWS = [
    {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93.0, "s5": 4.6, "region": "north"},
    {"age": 30, "sex": "female", "bmi": 31.0, "bp": 80.0, "s5": 5.1, "region": "east"},
    {"age": 64, "sex": "female", "bmi": 22.2, "bp": 101.0, "s5": 4.2, "region": "south"},
]

SETUP = """
from pathlib import Path
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from registry.catalog.services import model_version_register

call_command("migrate", interactive=False, verbosity=0)
for name, key in (("ana", {token!r}), ("bob", {doomed!r})):
    user = User.objects.create_user(name)
    user.groups.add(Group.objects.get(name="analyst"))
    Token.objects.create(user=user, key=key)
for artifact, alias in (({forest!r}, "champion"), ({logistic!r}, None)):
    model_version_register(
        name="clinic",
        artifact=Path(artifact).read_bytes(),
        reference=Path({reference!r}).read_bytes(),
        target="high_risk",
        alias=alias,
    )
"""


@dataclass
class Portals:
    addresses: list[str]  # host:port of each server
    env: dict[str, str]

    def call(
        self, server: int, method: str, path: str, body: Any = None, token: str = TOKEN
    ) -> tuple[int, Any]:
        """Status and JSON answer of one request to one server."""
        host, port = self.addresses[server].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        headers = {"Authorization": f"Token {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body) if not isinstance(body, bytes | str) else body
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        answer = json.loads(response.read())
        conn.close()
        return response.status, answer

    def elsewhere(self, code: str) -> None:
        """Run Django code in a third process (a shell on the same database)."""
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def portals(
    tmp_path_factory, clinic_logistic_bytes, clinic_forest_bytes, clinic_csv
) -> Iterator[Portals]:
    tmp = tmp_path_factory.mktemp("oip")
    data = tmp / "data"
    data.mkdir()
    (tmp / "forest.skops").write_bytes(clinic_forest_bytes)
    (tmp / "logistic.skops").write_bytes(clinic_logistic_bytes)
    (tmp / "clinic.csv").write_bytes(clinic_csv)
    env = portal_process_env(data, WEB_CONCURRENCY="1")
    setup = SETUP.format(
        token=TOKEN,
        doomed=DOOMED,
        forest=str(tmp / "forest.skops"),
        logistic=str(tmp / "logistic.skops"),
        reference=str(tmp / "clinic.csv"),
    )
    portals = Portals([f"127.0.0.1:{free_port()}" for _ in range(2)], env)
    portals.elsewhere(setup)
    started = []
    try:
        for index, address in enumerate(portals.addresses):
            log = open(tmp / f"web{index}.log", "w")  # noqa: SIM115 (closed below)
            gunicorn = str(Path(sys.executable).parent / "gunicorn")
            command = [gunicorn, "--config", "gunicorn.conf.py", "--bind", address, "portal.wsgi"]
            started.append(
                (subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log), log)
            )
        deadline = time.monotonic() + 60
        for index in range(2):
            while True:
                try:
                    if portals.call(index, "GET", "/v2/health/ready")[0] == 200:
                        break
                except OSError:
                    pass
                logs = "\n".join(p.read_text()[-2000:] for p in tmp.glob("web*.log"))
                assert time.monotonic() < deadline, f"the portals did not start\n{logs}"
                assert all(p.poll() is None for p, _ in started), logs
                time.sleep(0.1)
        yield portals
    finally:
        for process, log in started:
            process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            log.close()


def predictions_v1(portals: Portals, server: int = 0, **choice) -> list[dict]:
    status, body = portals.call(
        server, "POST", "/api/v1/models/clinic/predict/", {"inputs": ROWS, **choice}
    )
    assert status == 200, body
    return body["predictions"]


def proba_of(predictions: list[dict]) -> np.ndarray:
    return np.array([[p["probabilities"][c] for c in ("no", "yes")] for p in predictions])


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_tritonclient_gets_the_answers_of_predict(portals, binary):
    import tritonclient.http as triton

    client = triton.InferenceServerClient(url=portals.addresses[0])
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("clinic", headers=headers)
    metadata = client.get_model_metadata("clinic", headers=headers)
    datatypes = {i["name"]: i["datatype"] for i in metadata["inputs"]}
    assert datatypes == {
        "age": "INT64",
        "sex": "BYTES",
        "bmi": "FP64",
        "bp": "FP64",
        "s5": "FP64",
        "region": "BYTES",
    }
    inputs = []
    for name, datatype in datatypes.items():
        values = [row[name] for row in ROWS]
        array = np.array(
            values, dtype={"INT64": np.int64, "FP64": np.float64}.get(datatype, object)
        )
        tensor = triton.InferInput(name, [len(ROWS)], datatype)
        tensor.set_data_from_numpy(array, binary_data=binary)
        inputs.append(tensor)
    outputs = (
        None
        if binary
        else [
            triton.InferRequestedOutput(n, binary_data=False) for n in ("predict", "predict_proba")
        ]
    )
    result = client.infer("clinic", inputs, outputs=outputs, headers=headers, request_id="r-1")
    expected = predictions_v1(portals)
    labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("predict")]
    assert labels == [p["label"] for p in expected]
    assert result.as_numpy("predict_proba").tolist() == proba_of(expected).tolist()
    assert result.get_response()["id"] == "r-1"
    client.close()


def test_mlserver_pandas_codec_requests_get_the_answers_of_predict(portals):
    from mlserver.codecs import PandasCodec
    from mlserver.types import InferenceRequest

    frame = pd.DataFrame(ROWS).astype({"sex": object, "region": object})
    request = PandasCodec.encode_request(frame, use_bytes=False)
    assert isinstance(request, InferenceRequest)
    assert {t.name: t.shape for t in request.inputs} == {name: [3, 1] for name in ROWS[0]}
    status, body = portals.call(
        0, "POST", "/v2/models/clinic/infer", request.model_dump_json(exclude_none=True)
    )
    assert status == 200, body
    expected = predictions_v1(portals)
    outputs = {o["name"]: o for o in body["outputs"]}
    assert outputs["predict"]["data"] == [p["label"] for p in expected]
    proba = np.array(outputs["predict_proba"]["data"]).reshape(outputs["predict_proba"]["shape"])
    assert proba.tolist() == proba_of(expected).tolist()


def infer(portals: Portals, server: int, token: str = TOKEN) -> tuple[int, Any]:
    tensors = [
        {
            "name": name,
            "datatype": "BYTES" if name in ("sex", "region") else "FP64",
            "shape": [len(ROWS)],
            "data": [row[name] for row in ROWS],
        }
        for name in ROWS[0]
    ]
    return portals.call(server, "POST", "/v2/models/clinic/infer", {"inputs": tensors}, token)


def test_changes_made_in_another_process_hold_from_the_next_request(portals):
    # Both servers answer (and keep what they may) before anything changes.
    for server in (0, 1):
        status, body = infer(portals, server)
        assert (status, body["model_version"]) == (200, "1"), body
        assert infer(portals, server, DOOMED)[0] == 200
        assert predictions_v1(portals, server) == predictions_v1(portals, server, version=1)

    # One more process moves the champion and takes bob's role away.
    portals.elsewhere(
        "from django.contrib.auth.models import User\n"
        "from registry.models import RegisteredModel\n"
        "from registry.catalog.services import alias_set\n"
        "model = RegisteredModel.objects.get(name='clinic')\n"
        "alias_set(model=model, name='champion', version=model.versions.get(number=2))\n"
        "User.objects.get(username='bob').groups.clear()"
    )
    for server in (0, 1):
        status, body = infer(portals, server)
        assert (status, body["model_version"]) == (200, "2"), body
        assert predictions_v1(portals, server) == predictions_v1(portals, server, version=2)
        status, body = infer(portals, server, DOOMED)
        assert status == 403, body
    assert predictions_v1(portals, 0, version=2) != predictions_v1(portals, 0, version=1)

    portals.elsewhere(
        f"from rest_framework.authtoken.models import Token\n"
        f"Token.objects.filter(key={DOOMED!r}).delete()"
    )
    for server in (0, 1):
        assert infer(portals, server, DOOMED) == (401, {"error": "Invalid token."})
        status, body = portals.call(
            server, "POST", "/api/v1/models/clinic/predict/", {"inputs": ROWS}, DOOMED
        )
        assert (status, body["error"]["code"]) == (401, "not_authenticated")
        assert infer(portals, server)[0] == 200  # the other analyst is not affected
