"""MLflow's xgboost, lightgbm and onnx flavors (issue 20, part 5): saved by real MLflow
(tests/mlflow_script.py, one session server), taken through register_model --mlflow-model,
the API's zip and import_mlflow, checked like any uploaded booster or graph, and answering
as the native library does."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from registry.inference import score
from registry.models import RegisteredModel
from registry.runtime import version_estimator, version_interface
from tests.registry.test_mlflow_import import run_import

pytestmark = pytest.mark.django_db


def _native_answers(flavor: str, folder, rows: pd.DataFrame) -> np.ndarray:
    """P(unsold) as the library itself answers from the flavor's own file."""
    matrix = rows[["area", "rooms"]].to_numpy(dtype="float64")
    if flavor == "xgboost":
        import xgboost

        booster = xgboost.Booster(model_file=str(folder / "model.json"))
        return booster.predict(xgboost.DMatrix(rows[["area", "rooms"]].astype("float64")))
    if flavor == "lightgbm":
        import lightgbm

        return lightgbm.Booster(model_file=str(folder / "model.lgb")).predict(matrix)
    import onnxruntime

    session = onnxruntime.InferenceSession(
        str(folder / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    _, probabilities = session.run(None, {session.get_inputs()[0].name: matrix.astype("float32")})
    return np.array([p["unsold"] for p in probabilities])


@pytest.mark.parametrize("flavor", ["xgboost", "lightgbm", "onnx"])
def test_a_native_flavor_registers_and_answers_as_its_library(mlflow_server, flavor, tmp_path):
    folder = mlflow_server.out / f"dir-{flavor}"
    reference = mlflow_server.logged["data"]
    if flavor == "onnx":
        # A graph takes one tensor, unnamed: the reference data's columns are its inputs.
        reference = tmp_path / "numbers.csv"
        pd.read_csv(mlflow_server.logged["data"])[["area", "rooms", "sold"]].to_csv(
            reference, index=False
        )
    out = io.StringIO()
    call_command(
        "register_model",
        f"--name=houses-{flavor}",
        f"--mlflow-model={folder}",
        f"--reference-data={reference}",
        "--target=sold",
        stdout=out,
    )
    version = RegisteredModel.objects.get(name=f"houses-{flavor}").versions.get()
    assert version.framework == flavor
    assert version.origin["flavor"] == flavor
    assert version.interface["output"]["classes"] == ["sold", "unsold"]
    rows = pd.read_csv(mlflow_server.logged["data"]).iloc[::7]
    interface = version_interface(version)
    scores = score(
        version_estimator(version),
        interface.validate(rows[interface.names].to_dict("records")),
        interface,
    )
    expected = _native_answers(flavor, folder, rows)
    np.testing.assert_allclose(scores.probabilities[:, 1], expected, rtol=1e-9, atol=0)


def test_a_lightgbm_estimator_saved_as_skops_is_refused_asking_for_the_booster(mlflow_server):
    with pytest.raises(CommandError) as refused:
        call_command(
            "register_model",
            "--name=wrapped",
            f"--mlflow-model={mlflow_server.out / 'dir-lightgbm-sklearn'}",
        )
    assert "log the booster itself: mlflow.lightgbm.log_model(model.booster_" in str(refused.value)
    assert not RegisteredModel.objects.filter(name="wrapped").exists()


def test_a_flavor_whose_file_is_not_its_kind_is_refused_unread(mlflow_server, tmp_path):
    folder = tmp_path / "swapped"
    shutil.copytree(mlflow_server.out / "dir-xgboost", folder)
    (folder / "model.json").write_bytes(b"\x80\x04\x95" + b"\x00" * 64)  # a pickle's opening
    with pytest.raises(CommandError) as refused:
        call_command("register_model", "--name=swapped", f"--mlflow-model={folder}")
    assert "is not a xgboost model file" in str(refused.value)
    assert not RegisteredModel.objects.filter(name="swapped").exists()


def test_importing_a_booster_classifier_without_its_labels_says_what_is_needed(mlflow_server):
    _, err = run_import(mlflow_server.uri, "houses-xgboost")
    assert "Skipped houses-xgboost version 1" in err
    assert "knows class indices only" in err
    assert not RegisteredModel.objects.filter(name="houses-xgboost").exists()
