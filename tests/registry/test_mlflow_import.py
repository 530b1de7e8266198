"""Importing from MLflow: a real tracking server with models logged by real MLflow.

The server and the models come from tests/mlflow_env.py (one server per session): ``houses``
has two versions (two logistic regressions, pipelines over a numeric, a whole
number and a category input), ``champion`` on version 1, a model tag and a version tag;
``houses-pickled`` was logged with cloudpickle.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import urllib.request

import pandas as pd
import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from registry.catalog.selectors import alias_map
from registry.models import AuditEvent, RegisteredModel
from tests.mlflow_env import ROOT, free_port

pytestmark = pytest.mark.django_db


def run_import(uri: str, *names: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = [a for n in names for a in ("--model", n)]
    call_command("import_mlflow", "--tracking-uri", uri, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def mlflow_file(uri: str, name: str, version: int, path: str) -> bytes:
    """A file of a model version, as MLflow itself serves it."""
    query = f"name={name}&version={version}&path={path}"
    with urllib.request.urlopen(f"{uri}/model-versions/get-artifact?{query}") as answer:
        return answer.read()


def test_import_brings_versions_aliases_tags_metrics_and_a_link_back(mlflow_server, make_user):
    out, err = run_import(mlflow_server.uri)

    model = RegisteredModel.objects.get(name="houses")
    versions = {v.number: v for v in model.versions.all()}
    assert sorted(versions) == [1, 2]
    assert [versions[n].origin["version"] for n in (1, 2)] == ["1", "2"]
    assert versions[1].estimator_class.endswith("Pipeline")
    assert alias_map(model=model) == {"champion": 1}
    assert list(model.tags.values_list("name", flat=True)) == ["team-pricing"]
    assert model.description == "Will the house sell within 90 days?"
    assert versions[2].origin["tags"] == {"validated": "yes"}
    assert "Balanced classes: fewer missed sales." in versions[2].notes
    for number, logged in mlflow_server.logged["runs"].items():
        origin = versions[int(number)].origin
        assert origin["run_id"] == logged["run_id"]
        assert origin["run"]["metrics"]["accuracy"] == pytest.approx(logged["accuracy"])
        assert origin["run"]["params"] == logged["params"]
    assert "Imported houses version 2 -> houses version 2" in out

    # The pickled model is refused unread, with the line that re-saves it.
    assert not RegisteredModel.objects.filter(name="houses-pickled").exists()
    assert "Skipped houses-pickled version 1: MLflow saved this model with cloudpickle" in err
    assert 'mlflow.sklearn.load_model("models:/houses-pickled/1")' in err
    assert 'serialization_format="skops"' in err

    # The model card links back to the version in MLflow and shows the run's metrics.
    browser = Client()
    browser.force_login(make_user("vera", "viewer"))
    page = browser.get(reverse("model_card", args=["houses"]), {"version": 2}).content.decode()
    assert f'href="{mlflow_server.uri}/#/models/houses/versions/2"' in page
    assert "Logged by the MLflow run" in page
    assert mlflow_server.logged["runs"]["2"]["run_id"] in page

    # A second run imports nothing and changes nothing.
    events = AuditEvent.objects.count()
    out, err = run_import(mlflow_server.uri)
    assert "Nothing new to import." in out
    assert model.versions.count() == 2
    assert AuditEvent.objects.count() == events
    assert "houses-pickled version 1" in err  # still refused, still saying why


def test_interface_matches_the_signature_and_defaults_the_example(mlflow_server):
    run_import(mlflow_server.uri, "houses")
    version = RegisteredModel.objects.get(name="houses").versions.get(number=1)
    mlmodel = yaml.safe_load(mlflow_file(mlflow_server.uri, "houses", 1, "MLmodel"))
    signature = json.loads(mlmodel["signature"]["inputs"])
    example = json.loads(mlflow_file(mlflow_server.uri, "houses", 1, "input_example.json"))
    first = dict(zip(example["columns"], example["data"][0], strict=True))

    inputs = version.interface["inputs"]
    assert [(i["name"], i["required"]) for i in inputs] == [
        (c["name"], c["required"]) for c in signature
    ]
    kinds = {"double": "number", "long": "integer", "string": "category"}
    assert [i["type"] for i in inputs] == [kinds[c["type"]] for c in signature]
    district = next(i for i in inputs if i["name"] == "district")
    assert district["choices"] == sorted({row[2] for row in example["data"]})
    assert {i["name"]: i["default"] for i in inputs} == first
    assert version.interface["output"]["classes"] == ["sold", "unsold"]
    assert version.origin["interface_from"] == "input_example"
    assert "from the input example (8 rows)" in version.notes


def test_the_portal_answers_as_mlflow_pyfunc_does(mlflow_server, make_user, tmp_path):
    run_import(mlflow_server.uri, "houses")
    rows = pd.read_csv(mlflow_server.logged["data"]).drop(columns="sold").iloc[::10]
    (tmp_path / "rows.json").write_text(rows.to_json(orient="records"))
    uris = ["models:/houses/1", "models:/houses/2"]
    mlflow = mlflow_server.run("predict", str(tmp_path / "rows.json"), *uris)

    analyst = APIClient()
    analyst.force_authenticate(make_user("ana", "analyst"))
    split = json.loads(rows.to_json(orient="split", index=False))
    for number, uri in enumerate(uris, start=1):
        response = analyst.post(
            "/api/v1/models/houses/predict/",
            {"dataframe_split": split, "version": number},
            format="json",
        )
        assert response.status_code == 200, response.content
        answers = response.json()["predictions"]
        assert [a["label"] for a in answers] == mlflow[uri]["labels"]
        for answer, proba in zip(answers, mlflow[uri]["proba"], strict=True):
            assert [answer["probabilities"][c] for c in ("sold", "unsold")] == pytest.approx(
                proba,
                abs=5e-6,  # the API gives probabilities to 5 decimals
            )
    assert len(set(mlflow[uris[0]]["labels"])) == 2  # the rows exercise both answers


def test_an_alias_moved_in_mlflow_moves_here_audited(mlflow_server):
    run_import(mlflow_server.uri, "houses")
    model = RegisteredModel.objects.get(name="houses")
    mlflow_server.set_alias(name="houses", alias="champion", version=2)
    try:
        out, _ = run_import(mlflow_server.uri, "houses")
    finally:
        mlflow_server.set_alias(name="houses", alias="champion", version=1)
    assert alias_map(model=model) == {"champion": 2}
    assert "houses@champion: version 1 -> version 2 (as in MLflow)" in out
    event = AuditEvent.objects.filter(action=AuditEvent.Action.ALIAS_SET).first()
    assert (event.details["from"], event.details["to"]) == (1, 2)
    assert "MLflow import" in event.details["reason"]


def test_an_unknown_model_name_is_named(mlflow_server):
    with pytest.raises(CommandError, match="name=no-such-model not found"):
        run_import(mlflow_server.uri, "no-such-model")


def test_server_down_is_a_clear_error_not_a_traceback(tmp_path):
    port = free_port()  # nothing listens there
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "import_mlflow",
            "--tracking-uri",
            f"http://127.0.0.1:{port}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATA_DIR": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 1
    assert f"Cannot reach the MLflow tracking server at http://127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_tracking_uri_that_is_not_a_server_is_refused():
    with pytest.raises(CommandError, match="must be the http"):
        run_import("sqlite:///mlflow.db")


# ---------------------------------------------------------------- a model directory
def test_register_model_from_an_mlflow_directory_with_reference_data(mlflow_server):
    out = io.StringIO()
    call_command(
        "register_model",
        "--name=houses-dir",
        f"--mlflow-model={mlflow_server.out / 'dir-skops'}",
        f"--reference-data={mlflow_server.logged['data']}",
        "--target=sold",
        stdout=out,
    )
    version = RegisteredModel.objects.get(name="houses-dir").versions.get()
    assert "Registered houses-dir version 1" in out.getvalue()
    area = version.interface["inputs"][0]
    data = pd.read_csv(mlflow_server.logged["data"])
    assert (area["observed_min"], area["observed_max"]) == (data.area.min(), data.area.max())
    assert version.metrics["accuracy"] > 0.5
    assert version.origin["interface_from"] == "reference_data"
    assert "from the reference data (300 rows)" in version.notes


def test_a_pickled_mlflow_directory_is_refused_unread(mlflow_server, tmp_path):
    model_dir = tmp_path / "pickled"
    shutil.copytree(mlflow_server.out / "dir-pickle", model_dir)
    (model_dir / "model.pkl").unlink()  # never opened: the refusal comes from MLmodel alone
    with pytest.raises(CommandError) as refused:
        call_command("register_model", "--name=pickled", f"--mlflow-model={model_dir}")
    message = str(refused.value)
    assert "MLflow saved this model with cloudpickle" in message
    assert f'mlflow.sklearn.load_model("{model_dir}")' in message
    assert not RegisteredModel.objects.filter(name="pickled").exists()


def test_a_category_the_model_was_trained_on_is_answered_though_the_example_lacks_it(
    mlflow_server, make_user
):
    # houses-thin was logged with a three-row input example holding two of four districts.
    run_import(mlflow_server.uri, "houses-thin")
    version = RegisteredModel.objects.get(name="houses-thin").versions.get(number=1)
    district = next(i for i in version.interface["inputs"] if i["name"] == "district")
    assert district["choices"] == ["east", "north", "south", "west"]
    assert "Choices of district from OneHotEncoder.categories_" in version.notes

    analyst = APIClient()
    analyst.force_authenticate(make_user("ana", "analyst"))
    for place in ("east", "west"):  # trained on, absent from the example
        response = analyst.post(
            "/api/v1/models/houses-thin/predict/",
            {"inputs": [{"area": 95.0, "rooms": 3, "district": place}]},
            format="json",
        )
        assert response.status_code == 200, response.content
    # A district the model never saw is still refused, naming the field.
    response = analyst.post(
        "/api/v1/models/houses-thin/predict/",
        {"inputs": [{"area": 95.0, "rooms": 3, "district": "Atlantis"}]},
        format="json",
    )
    assert response.status_code == 400
    assert "district" in response.content.decode()
