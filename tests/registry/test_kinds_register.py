"""XGBoost, LightGBM and ONNX models registered through the same door as scikit-learn's:
the kind is recognised by content, framework and version recorded, class labels taken from
the reference data, and the answers are the native library's own."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from registry.artifacts.store import estimator_cache
from registry.catalog.services import model_version_register
from registry.inference import score
from registry.models import ModelVersion, RegisteredModel
from registry.runtime import version_estimator, version_interface
from tests import kinds_models as km
from tests.conftest import csv_bytes

SPECIES = ["setosa", "versicolor", "virginica"]


@pytest.fixture(scope="module")
def iris():
    return km.iris_frame()


@pytest.fixture(scope="module")
def diabetes():
    return km.diabetes_frame()


def _xgb_dmatrix_predict(booster, X):
    import xgboost

    return booster.predict(xgboost.DMatrix(X))


def native_cases(iris, diabetes):
    """(name, file bytes, frame, target, the native library's own answers on the inputs)."""
    import onnxruntime

    xc, xb, xr = (
        km.xgboost_classifier(iris),
        km.xgboost_binary(iris),
        km.xgboost_regressor(diabetes),
    )
    lc, lb, lr = (
        km.lightgbm_classifier(iris),
        km.lightgbm_binary(iris),
        km.lightgbm_regressor(diabetes),
    )
    X, D = iris.drop(columns="species"), diabetes.drop(columns="progression")
    binary = iris.assign(species=np.where(iris["species"] == "virginica", "yes", "no"))
    oc, orr = km.onnx_classifier(iris), km.onnx_regressor(diabetes)

    def ort(data, frame):
        session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
        outputs = session.run(None, {"X": frame.to_numpy(dtype="float32")})
        if len(outputs) == 1:
            return outputs[0].ravel()
        return np.array([[row[c] for c in SPECIES] for row in outputs[1]])

    return {
        "xgboost-json": (km.booster_json(xc), iris, "species", _xgb_dmatrix_predict(xc, X)),
        "xgboost-ubjson": (km.booster_ubjson(xc), iris, "species", _xgb_dmatrix_predict(xc, X)),
        "xgboost-binary": (
            km.booster_json(xb),
            binary,
            "species",
            _xgb_dmatrix_predict(xb, X.to_numpy()),
        ),
        "xgboost-regressor": (
            km.booster_ubjson(xr),
            diabetes,
            "progression",
            _xgb_dmatrix_predict(xr, D),
        ),
        "lightgbm": (km.lightgbm_text(lc), iris, "species", lc.predict(X)),
        "lightgbm-binary": (km.lightgbm_text(lb), binary, "species", lb.predict(X)),
        "lightgbm-regressor": (km.lightgbm_text(lr), diabetes, "progression", lr.predict(D)),
        "onnx": (oc, iris, "species", ort(oc, X)),
        "onnx-regressor": (orr, diabetes, "progression", ort(orr, D)),
    }


@pytest.fixture(scope="module")
def cases(iris, diabetes):
    return native_cases(iris, diabetes)


FRAMEWORKS = {"xgboost": "xgboost", "lightgbm": "lightgbm", "onnx": "onnx"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case",
    [
        "xgboost-json",
        "xgboost-ubjson",
        "xgboost-binary",
        "xgboost-regressor",
        "lightgbm",
        "lightgbm-binary",
        "lightgbm-regressor",
        "onnx",
        "onnx-regressor",
    ],
)
def test_a_native_model_registers_and_answers_as_its_own_library(cases, case):
    data, frame, target, native = cases[case]
    version = model_version_register(
        name=case, artifact=data, reference=csv_bytes(frame), target=target
    )
    framework = case.split("-")[0]
    assert version.framework == framework
    assert version.framework_version  # the library's own version
    assert "checked before loading" in version.notes
    interface = version_interface(version)
    assert interface.names == [c for c in frame.columns if c != target]
    estimator_cache.clear()  # as a new worker: loaded again from the stored file
    estimator = version_estimator(version)
    scores = score(estimator, frame.drop(columns=target), interface)
    if native.ndim == 1 and interface.task == "classification":  # P(class 1)
        native = np.column_stack([1 - native.astype("float64"), native])
    answers = scores.values if interface.task == "regression" else scores.probabilities
    np.testing.assert_allclose(answers, native, rtol=1e-9, atol=0)
    if interface.task == "classification":
        classes = sorted(str(c) for c in frame[target].unique())
        assert interface.classes == classes
        assert f"Class labels {classes}" in version.notes
        assert scores.labels == [classes[i] for i in native.argmax(axis=1)]
    assert version.metrics  # evaluated on the reference rows like any model


@pytest.mark.django_db
def test_the_kind_is_recognised_by_content_not_by_name(cases, tmp_path):
    data, frame, target, _ = cases["lightgbm"]
    (tmp_path / "model.skops").write_bytes(data)  # a misleading name
    (tmp_path / "ref.csv").write_bytes(csv_bytes(frame))
    call_command(
        "register_model",
        "--name",
        "flowers",
        "--artifact",
        str(tmp_path / "model.skops"),
        "--reference-data",
        str(tmp_path / "ref.csv"),
        "--target",
        target,
    )
    assert ModelVersion.objects.get(model__name="flowers").framework == "lightgbm"


def _refused_by_command(tmp_path, data: bytes, reference: bytes, target: str) -> str:
    (tmp_path / "model.bin").write_bytes(data)
    (tmp_path / "ref.csv").write_bytes(reference)
    with pytest.raises(CommandError) as caught:
        call_command(
            "register_model",
            "--name",
            "bad",
            "--artifact",
            str(tmp_path / "model.bin"),
            "--reference-data",
            str(tmp_path / "ref.csv"),
            "--target",
            target,
        )
    assert not RegisteredModel.objects.exists() and not ModelVersion.objects.exists()
    return str(caught.value)


@pytest.mark.django_db
def test_a_booster_whose_inputs_are_missing_from_the_reference_is_refused(cases, tmp_path):
    # A booster trained on a DataFrame knows its input names: extra reference columns are
    # left out, as for a scikit-learn model; a missing one is refused.
    data, frame, target, _ = cases["lightgbm"]
    narrower = frame.drop(columns="petal_width")
    message = _refused_by_command(tmp_path, data, csv_bytes(narrower), target)
    assert "missing: ['petal_width']" in message


@pytest.mark.django_db
def test_a_booster_without_feature_names_counts_the_reference_columns(cases, tmp_path):
    data, frame, target, _ = cases["xgboost-binary"]  # trained on a bare matrix: no names
    message = _refused_by_command(tmp_path, data, csv_bytes(frame.assign(extra=1.0)), target)
    assert "The model takes 4 inputs; the reference data has 5 columns besides the target" in (
        message
    )


@pytest.mark.django_db
def test_a_classifier_whose_classes_disagree_with_the_target_is_refused(cases, tmp_path):
    data, frame, target, _ = cases["lightgbm"]
    two = frame.assign(species=np.where(frame["species"] == "setosa", "a", "b"))
    message = _refused_by_command(tmp_path, data, csv_bytes(two), target)
    assert "The model has 3 classes" in message and "gives 2" in message


@pytest.mark.django_db
def test_a_crafted_booster_is_refused_by_the_command_and_nothing_is_registered(cases, tmp_path):
    data, frame, target, _ = cases["lightgbm"]
    crafted = data.replace(b"split_feature=", b"split_feature=99999 ", 1)
    message = _refused_by_command(tmp_path, crafted, csv_bytes(frame), target)
    assert message.count("\n") == 0 and "Refused:" in message


@pytest.mark.django_db
def test_a_truncated_booster_is_refused_by_the_command(cases, tmp_path):
    data, frame, target, _ = cases["xgboost-json"]
    message = _refused_by_command(tmp_path, data[: len(data) // 3], csv_bytes(frame), target)
    assert "the XGBoost model cannot be read" in message


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["xgboost", "lightgbm"])
def test_a_float32_booster_registers_without_warnings(iris, kind):
    # A float32 booster's probabilities sum to one within float32's precision only; the
    # metrics at registration take them renormalised, so scikit-learn has nothing to warn of.
    import warnings

    booster = km.xgboost_classifier(iris) if kind == "xgboost" else km.lightgbm_classifier(iris)
    artifact = km.booster_json(booster) if kind == "xgboost" else km.lightgbm_text(booster)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        version = model_version_register(
            name=f"iris-{kind}", artifact=artifact, reference=csv_bytes(iris), target="species"
        )
    assert version.metrics["log_loss"] > 0 and version.metrics["roc_auc"] > 0.9
