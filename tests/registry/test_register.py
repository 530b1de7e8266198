import json
import pickle

import pytest
import skops.io as sio
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from sklearn.ensemble import RandomForestClassifier

from registry.artifacts.store import ArtifactError
from registry.catalog.services import model_version_register
from registry.interface import Interface, InvalidInput
from registry.models import AuditEvent, ModelVersion, RegisteredModel
from tests.conftest import csv_bytes


@pytest.fixture
def files(tmp_path, clinic_forest_bytes, clinic_csv):
    (tmp_path / "forest.skops").write_bytes(clinic_forest_bytes)
    (tmp_path / "reference.csv").write_bytes(clinic_csv)
    return tmp_path


def register(files, *extra):
    call_command(
        "register_model",
        "--name",
        "clinic",
        "--artifact",
        str(files / "forest.skops"),
        "--reference-data",
        str(files / "reference.csv"),
        "--target",
        "high_risk",
        *extra,
    )


@pytest.mark.django_db
def test_a_pipeline_registers_from_the_command_line(files, clinic_frame):
    register(files, "--alias", "champion", "--description", "Risk of progression.")
    version = ModelVersion.objects.get(model__name="clinic")
    inputs = {i["name"]: i for i in version.interface["inputs"]}
    assert inputs["sex"]["type"] == "category" and inputs["sex"]["choices"] == ["female", "male"]
    assert inputs["region"]["choices"] == ["east", "north", "south"]
    assert inputs["bmi"]["type"] == "number"
    assert inputs["bmi"]["observed_min"] == clinic_frame["bmi"].min()
    assert inputs["age"]["type"] == "integer"
    assert version.interface["output"]["classes"] == ["no", "yes"]
    assert set(version.metrics) == {"accuracy", "balanced_accuracy", "f1", "roc_auc", "log_loss"}
    assert 0.5 < version.metrics["roc_auc"] <= 1
    assert version.model.description == "Risk of progression."
    assert version.aliases.get().name == "champion"
    assert version.reference_rows == len(clinic_frame)
    assert {e["feature"] for e in version.evaluation["importance"]} == set(inputs)


@pytest.mark.django_db
def test_registration_records_lineage_and_audit(files, clinic_csv):
    register(files)
    register(files)
    first, second = ModelVersion.objects.order_by("number")
    assert (first.number, second.number) == (1, 2)
    assert second.parent == first
    assert second.artifact_sha256 == first.artifact_sha256
    import hashlib

    assert second.reference_fingerprint == hashlib.sha256(clinic_csv).hexdigest()
    actions = list(AuditEvent.objects.order_by("created_at").values_list("action", flat=True))
    assert actions == ["model.created", "version.registered", "version.registered"]


@pytest.mark.django_db
def test_the_command_refuses_a_pickle_in_one_line(files, clinic_forest, tmp_path):
    marker = tmp_path / "ran"
    from tests.registry.test_artifacts import Payload

    (files / "forest.skops").write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(CommandError) as caught:
        register(files)
    assert "\n" not in str(caught.value)
    assert "not a skops file" in str(caught.value)
    assert not marker.exists()
    assert not RegisteredModel.objects.exists()


@pytest.mark.django_db
def test_the_command_exits_non_zero_with_a_reason(files, tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "register_model",
            "--name",
            "x",
            "--artifact",
            str(tmp_path / "missing.skops"),
        ],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
    )
    assert result.returncode != 0
    assert "Cannot read" in result.stderr and "missing.skops" in result.stderr


@pytest.mark.django_db
def test_a_breaking_change_is_refused_unless_allowed(files, clinic_frame):
    register(files)
    narrow = clinic_frame.drop(columns=["region"])
    X, y = narrow.drop(columns="high_risk"), narrow["high_risk"]
    (files / "forest.skops").write_bytes(
        sio.dumps(
            RandomForestClassifier(n_estimators=5, random_state=0).fit(X.drop(columns="sex"), y)
        )
    )
    with pytest.raises(CommandError, match="Breaking change against version 1"):
        register(files)
    assert ModelVersion.objects.count() == 1
    register(files, "--allow-breaking")
    latest = ModelVersion.objects.get(number=2)
    assert "Input 'region' was removed." in latest.breaking_changes
    assert "Input 'sex' was removed." in latest.breaking_changes


@pytest.mark.django_db
def test_a_model_that_cannot_predict_on_its_data_is_refused(iris_logistic_bytes, clinic_csv):
    with pytest.raises(ValidationError) as caught:
        model_version_register(name="mixup", artifact=iris_logistic_bytes, reference=clinic_csv)
    assert "missing" in str(caught.value)
    assert not RegisteredModel.objects.exists()


@pytest.mark.django_db
def test_an_explicit_interface_replaces_inference(diabetes_linear_bytes, diabetes_frame):
    spec = {
        "inputs": [
            {"name": "age", "type": "integer", "min": 18, "max": 100, "unit": "years"},
            {"name": "bmi", "type": "number", "unit": "kg/m²"},
            {"name": "bp", "type": "number"},
        ],
        "output": {"task": "regression", "target": "progression", "unit": "points"},
    }
    version = model_version_register(
        name="diabetes",
        artifact=diabetes_linear_bytes,
        reference=csv_bytes(diabetes_frame),
        target="progression",
        interface=spec,
    )
    assert version.interface["inputs"][0]["max"] == 100
    assert version.interface["output"]["unit"] == "points"
    assert set(version.metrics) == {"rmse", "mae", "r2"}
    assert json.dumps(version.evaluation)  # charts read it as JSON


@pytest.mark.django_db
def test_a_hostile_artifact_registers_nothing(clinic_csv):
    import os

    from sklearn.preprocessing import FunctionTransformer

    with pytest.raises(ArtifactError):
        model_version_register(
            name="evil",
            artifact=sio.dumps(FunctionTransformer(func=os.system)),
            reference=clinic_csv,
        )
    assert not RegisteredModel.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "empty"), (b"\xff\xfe\x00bad", "not UTF-8"), (b"a,b\n", "no rows")],
)
def test_unreadable_reference_data_is_refused(clinic_forest_bytes, data, message):
    with pytest.raises(ValidationError, match=message):
        model_version_register(name="clinic", artifact=clinic_forest_bytes, reference=data)


@pytest.mark.django_db
def test_seed_demo_registers_real_models_once(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    models = {m.name: m for m in RegisteredModel.objects.all()}
    assert set(models) == {"breast-cancer", "wine", "diabetes"}
    assert models["breast-cancer"].versions.count() == 2
    champion = models["breast-cancer"].aliases.get(name="champion").version
    challenger = models["breast-cancer"].aliases.get(name="challenger").version
    assert champion.metrics["roc_auc"] >= challenger.metrics["roc_auc"]
    assert models["diabetes"].task == "regression"
    assert "already registered" in capsys.readouterr().out
    # Real limits: an impossible value is refused, naming the input; a rare one only warns.
    diabetes = models["diabetes"].aliases.get(name="champion").version
    row = {i["name"]: i["default"] for i in diabetes.interface["inputs"]}
    interface = Interface(diabetes.interface)
    for name, value in (("bmi", 400), ("age", 150), ("blood_pressure", 0)):
        with pytest.raises(InvalidInput) as caught:
            interface.validate([{**row, name: value}])
        assert name in caught.value.row_errors[0]
    assert interface.validate([{**row, "bmi": 60}]).warnings[0]["field"] == "bmi"
    for model in models.values():
        spec = model.versions.first().interface["inputs"]
        assert all(
            i["min"] is not None and i["max"] is not None for i in spec if i["type"] != "category"
        )
    wine = models["wine"].versions.order_by("number")
    assert [v.framework for v in wine] == ["scikit-learn", "lightgbm"]  # a LightGBM booster too
    assert [v.interface["output"]["classes"][0] for v in wine] == ["Cultivar 1", "Cultivar 1"]
    assert "Class labels ['Cultivar 1', 'Cultivar 2', 'Cultivar 3']" in wine[1].notes
