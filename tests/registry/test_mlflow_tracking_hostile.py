"""import_mlflow against a tracking server that misbehaves, or a portal that has the name.

A fake MLflow server (tests/fake_mlflow.py, real HTTP on 127.0.0.1) serves model directories
built here: real skops files, real MLmodel files and input examples. The well-behaved path is
tested against a real ``mlflow server`` in test_mlflow_import.py.
"""

from __future__ import annotations

import base64
import io
import json

import pytest
import skops.io as sio
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from sklearn.linear_model import LogisticRegression

from registry.catalog.selectors import alias_map
from registry.catalog.services import alias_set, model_version_register
from registry.models import RegisteredModel
from tests.conftest import csv_bytes
from tests.fake_mlflow import FakeMlflow, fake_mlflow_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake():
    server = fake_mlflow_server(FakeMlflow())
    yield next(server)
    server.close()


@pytest.fixture
def other():
    """A second server, at another address: where a redirect leads."""
    server = fake_mlflow_server(FakeMlflow())
    yield next(server)
    server.close()


def model_files(frame, columns: list[str]) -> dict[str, bytes]:
    """An MLflow model directory as MLflow writes one: a skops file, MLmodel, an example."""
    estimator = LogisticRegression(max_iter=500).fit(frame[columns], frame["species"])
    signature = [{"type": "double", "name": c, "required": True} for c in columns]
    mlmodel = {
        "flavors": {
            "python_function": {"loader_module": "mlflow.sklearn", "model_path": "model.skops"},
            "sklearn": {
                "pickled_model": "model.skops",
                "serialization_format": "skops",
                "sklearn_version": "1.9.1",
            },
        },
        "mlflow_version": "3.17.2",
        "signature": {"inputs": json.dumps(signature), "outputs": None},
        "saved_input_example_info": {
            "artifact_path": "input_example.json",
            "type": "dataframe",
            "pandas_orient": "split",
        },
    }
    example = frame[columns].iloc[::15]
    return {
        "MLmodel": yaml.safe_dump(mlmodel).encode(),
        "model.skops": sio.dumps(estimator),
        "input_example.json": example.to_json(orient="split", index=False).encode(),
    }


IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def run_import(uri: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_mlflow", "--tracking-uri", uri, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# ---------------------------------------------------------------- whose model it is
def test_a_portal_model_of_the_same_name_is_never_taken_over(fake, iris_frame, iris_logistic_bytes):
    ours = model_version_register(
        name="breast-cancer",
        artifact=iris_logistic_bytes,
        reference=csv_bytes(iris_frame),
        target="species",
    )
    alias_set(model=ours.model, name="champion", version=ours)
    theirs = fake.fake.model("Breast Cancer")
    theirs.add(model_files(iris_frame, IRIS[:3]))
    theirs.aliases["champion"] = 1

    out, err = run_import(fake.uri)

    model = RegisteredModel.objects.get(name="breast-cancer")
    assert model.versions.count() == 1
    assert alias_map(model=model) == {"champion": 1}
    assert model.title == ours.model.title
    assert "the portal's model 'breast-cancer' did not come from this MLflow model" in err
    assert "--as breast-cancer-mlflow" in err
    assert "Nothing new to import." in out

    # The way out the message names: a name of its own, continued on the next run.
    out, _ = run_import(fake.uri, "--model", "Breast Cancer", "--as", "breast-cancer-mlflow")
    assert "Breast Cancer version 1 -> breast-cancer-mlflow version 1" in out
    imported = RegisteredModel.objects.get(name="breast-cancer-mlflow")
    assert alias_map(model=imported) == {"champion": 1}
    theirs.add(model_files(iris_frame, IRIS[:3]))
    out, _ = run_import(fake.uri, "--model", "Breast Cancer", "--as", "breast-cancer-mlflow")
    assert "Breast Cancer version 2 -> breast-cancer-mlflow version 2" in out
    assert RegisteredModel.objects.get(name="breast-cancer").versions.count() == 1


def test_as_needs_exactly_one_model(fake):
    with pytest.raises(CommandError, match="exactly one --model"):
        run_import(fake.uri, "--as", "somewhere")


def test_a_breaking_version_waits_for_allow_breaking(fake, iris_frame):
    houses = fake.fake.model("iris")
    houses.add(model_files(iris_frame, IRIS))
    houses.add(model_files(iris_frame, IRIS[:3]))  # an input removed: breaks callers
    houses.add(model_files(iris_frame, IRIS[:3]))
    houses.aliases["champion"] = 3

    out, err = run_import(fake.uri)
    model = RegisteredModel.objects.get(name="iris")
    assert list(model.versions.values_list("number", flat=True)) == [1]
    assert "iris version 2: Breaking change against version 1" in err
    assert "run the import again with --allow-breaking" in err
    assert "iris@'champion': points at MLflow version '3', which was not imported" in err
    assert alias_map(model=model) == {}

    out, err = run_import(fake.uri, "--allow-breaking")
    assert "iris version 2 -> iris version 2 (breaking:" in out
    assert "iris version 3 -> iris version 3" in out
    assert alias_map(model=model) == {"champion": 3}


# ---------------------------------------------------------------- a server that misbehaves
def test_a_bad_version_is_skipped_and_the_others_imported(fake, iris_frame):
    model = fake.fake.model("iris")
    model.add(model_files(iris_frame, IRIS), creation_timestamp=10**30)
    model.add(model_files(iris_frame, IRIS))
    out, err = run_import(fake.uri)
    assert "iris version 1: MLflow's creation_timestamp" in err
    assert "is not a time" in err
    assert "iris version 2 -> iris version 1" in out


@pytest.mark.parametrize("kind", ["token", "basic"])
def test_credentials_never_follow_a_redirect_to_another_address(
    fake, other, iris_frame, monkeypatch, kind
):
    if kind == "token":
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "s3cret-token")
        sent = "Bearer s3cret-token"
    else:
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ana")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "s3cret")
        sent = "Basic " + base64.b64encode(b"ana:s3cret").decode()
    other.fake.model("iris").add(model_files(iris_frame, IRIS))
    fake.fake.redirect_to = other.uri

    out, _ = run_import(fake.uri)

    assert "iris version 1 -> iris version 1" in out  # the redirect is followed...
    assert fake.fake.seen and {auth for _, auth in fake.fake.seen} == {sent}
    assert other.fake.seen and {auth for _, auth in other.fake.seen} == {None}  # ...bare


def test_credentials_follow_a_redirect_on_the_same_server(fake, iris_frame, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "s3cret-token")
    fake.fake.model("iris").add(model_files(iris_frame, IRIS))
    # The server moved under /mlflow and redirects its old addresses there.
    fake.fake.mount = "/mlflow"
    fake.fake.redirect_to = fake.uri + "/mlflow"
    out, _ = run_import(fake.uri)
    assert "iris version 1 -> iris version 1" in out
    assert any(path.startswith("/mlflow/") for path, _ in fake.fake.seen)
    assert {auth for _, auth in fake.fake.seen} == {"Bearer s3cret-token"}


def test_a_search_that_never_ends_is_cut_at_a_page_limit(fake):
    fake.fake.endless_pages = 1_200  # far past any real registry; the import stops first
    with pytest.raises(CommandError, match="went on past 1,000 pages"):
        run_import(fake.uri)
    assert len(fake.fake.seen) == 1_000


def test_a_search_that_never_ends_is_cut_at_a_byte_limit(fake):
    fake.fake.endless_pages = 100
    fake.fake.page_padding = 1024 * 1024
    with pytest.raises(CommandError, match="add up to more than 67,108,864 bytes"):
        run_import(fake.uri)
    assert len(fake.fake.seen) == 64


def test_a_server_that_drips_its_answer_is_cut_at_the_deadline(fake):
    fake.fake.drip_seconds = 0.5  # each read waits less than the socket timeout
    with pytest.raises(CommandError, match=r"did not answer .*registered-models/search within 2 s"):
        run_import(fake.uri, "--timeout", "2")
