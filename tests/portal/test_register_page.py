"""The register page: a manager registers a model of any kind from the browser, through the
same checks as the API; every refusal is one line beside the field it names, and nothing is
registered half-way. Only managers may open it."""

from __future__ import annotations

import pickle

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.models import ModelVersion, RegisteredModel
from tests import kinds_models as km
from tests.api.test_kinds import BAD
from tests.conftest import csv_bytes

URL = "/register/"


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture(scope="module")
def iris():
    return km.iris_frame()


def post(client, name: str, model: bytes | None, reference: bytes | None, **extra):
    data = {"name": name, "target": "species", **extra}
    if model is not None:
        data["artifact"] = SimpleUploadedFile(f"{name}.model", model)
    if reference is not None:
        data["reference_data"] = SimpleUploadedFile("iris.csv", reference)
    return client.post(URL, data)


def field_errors(response) -> dict[str, list[str]]:
    form = response.context["form"]
    return {key: [str(e) for e in errors] for key, errors in form.errors.items()}


def test_a_manager_registers_a_skops_model_and_lands_on_its_card(
    as_manager, iris_logistic_bytes, iris
):
    response = post(as_manager, "iris-page", iris_logistic_bytes, csv_bytes(iris))
    assert response.status_code == 302
    assert response["Location"] == "/models/iris-page/?version=1"
    version = ModelVersion.objects.get(model__name="iris-page")
    assert version.framework == "scikit-learn" and version.metrics
    card = as_manager.get(response["Location"])
    assert "Registered iris-page v1 (scikit-learn)." in card.content.decode()


@pytest.mark.parametrize("kind", ["xgboost", "lightgbm"])
def test_a_booster_is_registered_from_the_page_with_its_classes_from_the_reference_data(
    as_manager, iris, kind
):
    model = (
        km.booster_ubjson(km.xgboost_classifier(iris))
        if kind == "xgboost"
        else km.lightgbm_text(km.lightgbm_classifier(iris))
    )
    response = post(as_manager, f"iris-{kind}", model, csv_bytes(iris))
    assert response.status_code == 302, field_errors(response)
    version = ModelVersion.objects.get(model__name=f"iris-{kind}")
    assert version.framework == kind
    whatif = as_manager.get(f"/models/iris-{kind}/whatif/")
    assert whatif.status_code == 200 and "virginica" in whatif.content.decode()


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_file_is_one_line_beside_its_field_and_nothing_is_registered(as_manager, iris, case):
    make, says = BAD[case]
    reference = iris.assign(extra=1.0) if case == "feature count disagrees" else iris
    response = post(as_manager, "bad", make(iris), csv_bytes(reference))
    assert response.status_code == 400
    messages = [m for ms in field_errors(response).values() for m in ms]
    assert any(says in m for m in messages), messages
    assert all("\n" not in m for m in messages)
    assert says in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert not RegisteredModel.objects.exists() and not ModelVersion.objects.exists()


def test_a_pickle_is_refused_unread(as_manager, iris, tmp_path):
    marker = tmp_path / "unpickled"

    class Boom:
        def __reduce__(self):
            return (marker.touch, ())

    response = post(as_manager, "pickled", pickle.dumps(Boom()), csv_bytes(iris))
    assert response.status_code == 400
    assert "artifact" in field_errors(response)
    assert not marker.exists()
    assert not RegisteredModel.objects.exists()


def test_one_model_file_is_needed_and_a_too_large_one_is_refused_before_reading(
    as_manager, iris, iris_logistic_bytes, settings
):
    none = post(as_manager, "nothing", None, csv_bytes(iris))
    assert none.status_code == 400
    assert field_errors(none) == {"artifact": ["Choose a model file or an MLflow model's zip."]}

    settings.PORTAL = {**settings.PORTAL, "MAX_ARTIFACT_BYTES": 1000}
    large = post(as_manager, "large", iris_logistic_bytes, None)
    assert large.status_code == 400
    assert field_errors(large) == {"artifact": ["The file is larger than 1,000 bytes."]}
    assert not RegisteredModel.objects.exists()


def test_a_name_that_is_not_a_slug_is_refused_beside_the_name(as_manager, iris_logistic_bytes):
    response = post(as_manager, "two words", iris_logistic_bytes, None)
    assert response.status_code == 400 and "name" in field_errors(response)


def test_only_a_manager_may_register_and_only_a_manager_sees_the_link(
    client, analyst, manager, iris_logistic_bytes
):
    assert client.get(URL).status_code == 302  # to the login page
    client.force_login(analyst)
    assert client.get(URL).status_code == 403
    assert post(client, "sneaky", iris_logistic_bytes, None).status_code == 403
    assert 'href="/register/"' not in client.get("/models/").content.decode()
    assert not RegisteredModel.objects.exists()
    client.force_login(manager)
    assert client.get(URL).status_code == 200
    assert 'href="/register/"' in client.get("/models/").content.decode()


def test_reference_data_that_is_not_a_csv_is_refused_beside_it(as_manager, iris_logistic_bytes):
    response = post(as_manager, "iris-bad-csv", iris_logistic_bytes, b"\x00\xff\xfe not a csv")
    assert response.status_code == 400
    errors = field_errors(response)
    assert list(errors) == ["reference_data"], errors
    assert not RegisteredModel.objects.exists()


def test_an_mlflow_zip_registers_from_the_page_and_a_pickled_one_is_refused_beside_it(
    as_manager, iris_logistic_bytes, iris
):
    from tests.api.test_mlflow_upload import mlmodel, zipped

    columns = [{"type": "double", "name": c, "required": True} for c in iris.columns[:4]]
    archive = zipped({"MLmodel": mlmodel(inputs=columns), "model.skops": iris_logistic_bytes})
    data = {"name": "iris-mlflow", "target": "species"}
    data["mlflow_model"] = SimpleUploadedFile("model.zip", archive.getvalue())
    data["reference_data"] = SimpleUploadedFile("iris.csv", csv_bytes(iris))
    response = as_manager.post(URL, data)
    assert response.status_code == 302, field_errors(response)
    assert ModelVersion.objects.get(model__name="iris-mlflow").interface["inputs"]

    pickled = zipped({"MLmodel": mlmodel("cloudpickle"), "m.pkl": b"\x80\x04."})
    data = {"name": "pickled", "mlflow_model": SimpleUploadedFile("model.zip", pickled.getvalue())}
    refused = as_manager.post(URL, data)
    assert refused.status_code == 400
    assert list(field_errors(refused)) == ["mlflow_model"]
    assert not RegisteredModel.objects.filter(name="pickled").exists()


def test_a_booster_regressor_registers_from_the_page_without_rows(as_manager):
    frame = km.diabetes_frame()
    model = km.lightgbm_text(km.lightgbm_regressor(frame))
    response = post(as_manager, "progression", model, None, target="")
    assert response.status_code == 302, field_errors(response)
    card = as_manager.get(response["Location"]).content.decode()
    assert "LightGBM&#x27;s feature_infos" in card or "LightGBM's feature_infos" in card
    whatif = as_manager.get("/models/progression/whatif/")
    assert whatif.status_code == 200 and 'type="range"' in whatif.content.decode()
