"""What the red team's bodies cost a real gunicorn worker (one worker, one thread), measured
from /proc: the peak resident memory while it answers, above what it held before. Run under
/work/tools/exclusive (it measures memory, and starts processes).

- one BOOL tensor of 8 MB of one-byte rows (Triton's binary extension) peaked a worker at
  1.85 GB and took 9.3 s before its 413: a dict was built per row before the row limit;
- MLflow's split form with 5.5 million empty rows in 16 MiB reached 969 MB.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import processes as p
from tests.net import free_port

TOKEN = "e" * 40
MB = 1024 * 1024

SETUP = """
from pathlib import Path
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from registry.catalog.services import model_version_register

call_command("migrate", interactive=False, verbosity=0)
user = User.objects.create_user("ana")
user.groups.add(Group.objects.get(name="analyst"))
Token.objects.create(user=user, key={token!r})
model_version_register(name="clinic", artifact=Path({forest!r}).read_bytes(),
                       reference=Path({reference!r}).read_bytes(), target="high_risk")
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory, clinic_forest_bytes, clinic_csv) -> Iterator[p.Served]:
    tmp = tmp_path_factory.mktemp("memory")
    (tmp / "forest.skops").write_bytes(clinic_forest_bytes)
    (tmp / "clinic.csv").write_bytes(clinic_csv)
    data = tmp / "data"
    data.mkdir()
    env = p.environment(data)
    p.django_shell(
        env,
        SETUP.format(
            token=TOKEN, forest=str(tmp / "forest.skops"), reference=str(tmp / "clinic.csv")
        ),
    )
    served = p.gunicorn_serve(env, free_port(), tmp / "web.log")
    yield served
    served.stop()


AUTH = {"Authorization": f"Token {TOKEN}"}


def test_an_8_mb_binary_bool_tensor_is_refused_by_its_shape_for_little_memory(served):
    body, headers = p.v2_binary_bool("age", 8_000_000)
    status, answer, _, grown, _ = served.measured(
        "POST", "/v2/models/clinic/infer", body, {**AUTH, **headers}
    )
    assert status == 413, answer
    assert b"Send at most 10,000 rows in one call." in answer
    assert grown < 100, f"the worker grew by {grown:.0f} MB"  # was 1,675 MB here


def test_16_mib_of_empty_split_rows_is_refused_before_a_row_is_built(served):
    body = p.v1_split_empty_rows(16 * MB)
    status, answer, _, grown, _ = served.measured(
        "POST",
        "/api/v1/models/clinic/predict/",
        body,
        {**AUTH, "Content-Type": "application/json"},
    )
    assert status == 413, answer
    # What is left is json.loads' own list per "[]" (~64 bytes each): 432 MB here, was 793.
    assert grown < 600, f"the worker grew by {grown:.0f} MB"
