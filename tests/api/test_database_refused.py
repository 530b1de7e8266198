"""A database that refuses connections answers 503 with Retry-After everywhere, never 500.

The portal runs in a process of its own whose DATABASE_URL points at a port on 127.0.0.1
where no PostgreSQL listens: every connection is really refused, as while the server
restarts, without stopping the server other tests share. (tests/api/test_database_restart.py
restarts the real server under load, once, on the PostgreSQL pass.)
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import portal_process_env
from tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json
import django
django.setup()
from django.test import Client

client = Client(raise_request_exception=False)
token = {"HTTP_AUTHORIZATION": "Token 0123456789abcdef0123456789abcdef01234567"}
client.cookies["sessionid"] = "a-session-the-database-would-know"
answers = {}

def keep(name, response):
    body = response.content.decode()
    try:
        body = json.loads(body)
    except ValueError:
        pass
    answers[name] = [response.status_code, response.get("Retry-After"), body]

keep("health", client.get("/api/v1/health/"))
keep("ready", client.get("/v2/health/ready"))
keep("models", client.get("/api/v1/models/", **token))
keep("predict", client.post("/api/v1/models/clinic/predict/", {"inputs": [{"age": 50}]},
                            content_type="application/json", **token))
keep("v2", client.post("/v2/models/clinic/infer", {"inputs": []},
                       content_type="application/json", **token))
keep("page", client.get("/models/"))
keep("login", client.post("/accounts/login/", {"username": "ana", "password": "pw"}))
print(json.dumps(answers))
"""


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("needs no database: once, in the SQLite pass, is enough")
    env = portal_process_env(
        tmp_path_factory.mktemp("data"),
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/portal",
        ALLOWED_HOSTS="testserver",
    )
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    return json.loads(run.stdout.decode().strip().splitlines()[-1])


def test_the_health_check_says_the_database_is_unavailable(answers):
    status, retry_after, body = answers["health"]
    assert (status, retry_after) == (503, "5")
    assert body == {"status": "error", "database": "unavailable"}


def test_the_v2_readiness_says_when_to_look_again_as_the_api_does(answers):
    status, retry_after, body = answers["ready"]
    assert (status, retry_after, body) == (503, "5", {"ready": False})


@pytest.mark.parametrize("call", ["models", "predict"])
def test_api_calls_answer_503_unavailable_with_retry_after(answers, call):
    status, retry_after, body = answers[call]
    assert (status, retry_after, body["error"]["code"]) == (503, "5", "unavailable"), body
    assert "try again" in body["error"]["message"]


def test_v2_calls_answer_503_with_retry_after(answers):
    status, retry_after, body = answers["v2"]
    assert (status, retry_after) == (503, "5") and "try again" in body["error"], body


@pytest.mark.parametrize("page", ["page", "login"])
def test_pages_answer_503_with_a_page_that_says_so(answers, page):
    status, retry_after, html = answers[page]
    assert (status, retry_after) == (503, "5")
    assert "cannot reach its database" in html
