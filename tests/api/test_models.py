"""Models, versions, interfaces, registration by upload, and aliases."""

import io
import json
import os
import pickle

import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from registry.catalog.services import model_version_register
from registry.models import Alias, AuditEvent, ModelVersion, RegisteredModel
from tests.api.conftest import error_of
from tests.conftest import csv_bytes


def upload(name: str, data: bytes) -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


def test_the_list_names_each_model_with_its_versions_and_links(
    clinic_version, iris_version, viewer
):
    response = viewer.get("/api/v1/models/")
    assert response.status_code == 200
    by_name = {m["name"]: m for m in response.json()}
    assert set(by_name) == {"clinic", "iris"}
    clinic = by_name["clinic"]
    assert clinic["task"] == "classification"
    assert clinic["latest_version"] == 1
    assert clinic["aliases"] == {"champion": 1}
    assert clinic["url"] == "http://testserver/api/v1/models/clinic/"
    assert clinic["portal_url"] == "http://testserver/models/clinic/"


def test_a_model_shows_its_versions_newest_first(clinic_version, clinic_forest_bytes, viewer):
    model_version_register(
        name="clinic", artifact=clinic_forest_bytes, interface=clinic_version.interface
    )
    body = viewer.get("/api/v1/models/clinic/").json()
    assert [v["version"] for v in body["versions"]] == [2, 1]
    assert body["latest_version"] == 2
    assert body["versions"][1]["aliases"] == ["champion"]
    assert body["versions"][0]["url"] == "http://testserver/api/v1/models/clinic/versions/2/"


def test_a_version_shows_interface_metrics_params_and_lineage(clinic_version, viewer):
    body = viewer.get("/api/v1/models/clinic/versions/1/").json()
    for key in (
        "version",
        "created_at",
        "created_by",
        "framework",
        "framework_version",
        "artifact_sha256",
        "interface",
        "metrics",
        "params",
        "lineage",
        "aliases",
    ):
        assert key in body
    assert body["artifact_sha256"] == clinic_version.artifact_sha256
    assert body["lineage"]["reference_rows"] == clinic_version.reference_rows
    assert body["lineage"]["parent"] is None
    assert body["aliases"] == ["champion"]
    assert "roc_auc" in body["metrics"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/v1/models/nope/", "No model is named 'nope'."),
        ("/api/v1/models/clinic/versions/7/", "Model 'clinic' has no version 7."),
        ("/api/v1/models/clinic/versions/99999999999999999999/", "has no version"),
        ("/api/v1/models/clinic/interface/?alias=gold", "Model 'clinic' has no alias 'gold'."),
        ("/api/v1/models/clinic/interface/?version=3", "Model 'clinic' has no version 3."),
        ("/api/v1/models/not a slug/", "No endpoint"),
    ],
)
def test_unknown_models_and_versions_are_404(clinic_version, viewer, path, message):
    assert message in error_of(viewer.get(path), 404, "not_found")["message"]


def test_the_interface_comes_with_the_json_schema_of_a_row(clinic_version, viewer):
    body = viewer.get("/api/v1/models/clinic/interface/?alias=champion").json()
    assert (body["model"], body["version"]) == ("clinic", 1)
    assert [i["name"] for i in body["inputs"]] == ["age", "sex", "bmi", "bp", "s5", "region"]
    assert body["output"]["classes"] == ["no", "yes"]
    schema = body["json_schema"]
    assert schema["properties"]["sex"]["enum"] == ["female", "male"]
    assert set(schema["required"]) >= {"age", "bmi"}


# ---------------------------------------------------------------- registration
def test_a_manager_registers_a_model_by_upload(manager, iris_logistic_bytes, iris_frame):
    response = manager.post(
        "/api/v1/models/",
        {
            "name": "flowers",
            "artifact": upload("flowers.skops", iris_logistic_bytes),
            "reference_data": upload("reference.csv", csv_bytes(iris_frame)),
            "target": "species",
            "title": "Iris flowers",
            "alias": "champion",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["model"], body["version"], body["aliases"]) == ("flowers", 1, ["champion"])
    assert body["created_by"] == manager.user.username
    assert body["lineage"]["source"] == "API upload of flowers.skops"
    assert body["interface"]["output"]["classes"] == ["setosa", "versicolor", "virginica"]
    model = RegisteredModel.objects.get(name="flowers")
    assert model.title == "Iris flowers"
    assert AuditEvent.objects.filter(model=model, actor=manager.user).exists()


def test_registering_a_known_name_adds_the_next_version(
    clinic_version, manager, clinic_forest_bytes
):
    response = manager.post(
        "/api/v1/models/",
        {
            "name": "clinic",
            "artifact": upload("m.skops", clinic_forest_bytes),
            "interface": json.dumps(clinic_version.interface),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["version"] == 2
    assert response.json()["lineage"]["parent"] == 1


def test_a_breaking_interface_needs_allow_breaking(
    clinic_version, manager, iris_logistic_bytes, iris_frame
):
    body = {
        "name": "clinic",
        "artifact": upload("iris.skops", iris_logistic_bytes),
        "reference_data": upload("iris.csv", csv_bytes(iris_frame)),
        "target": "species",
    }
    error = error_of(
        manager.post("/api/v1/models/", body, format="multipart"), 400, "invalid_input"
    )
    assert "Breaking change against version 1" in error["fields"]["interface"][0]
    assert ModelVersion.objects.count() == 1
    for file in (body["artifact"], body["reference_data"]):
        file.seek(0)
    response = manager.post(
        "/api/v1/models/", {**body, "allow_breaking": "true"}, format="multipart"
    )
    assert response.status_code == 201


class Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/model-portal-api-pwned",))


@pytest.mark.parametrize(
    ("artifact", "says"),
    [
        (pickle.dumps(Payload()), "not a skops file"),
        (sio.dumps(FunctionTransformer(func=os.system)), "posix.system"),
        (b"", "empty"),
    ],
    ids=["pickle", "skops-naming-os.system", "empty"],
)
def test_a_hostile_or_broken_artifact_is_refused_and_nothing_is_stored(
    manager, iris_frame, artifact, says
):
    response = manager.post(
        "/api/v1/models/",
        {
            "name": "evil",
            "artifact": upload("evil.skops", artifact),
            "reference_data": upload("reference.csv", csv_bytes(iris_frame)),
            "target": "species",
        },
        format="multipart",
    )
    error = error_of(response, 400, "invalid_input")
    assert says in error["fields"]["artifact"][0]
    assert not RegisteredModel.objects.exists() and not ModelVersion.objects.exists()
    assert not os.path.exists("/tmp/model-portal-api-pwned")


def test_registration_checks_its_fields(manager, iris_logistic_bytes):
    response = manager.post(
        "/api/v1/models/",
        {"name": "not a slug", "artifact": upload("m.skops", iris_logistic_bytes)},
        format="multipart",
    )
    error = error_of(response, 400, "invalid_input")
    assert set(error["fields"]) == {"name"}
    error = error_of(manager.post("/api/v1/models/", {}, format="multipart"), 400, "invalid_input")
    assert set(error["fields"]) == {"name", "artifact"}


def test_registration_as_json_is_an_unsupported_media_type(manager):
    response = manager.post("/api/v1/models/", {"name": "x"}, format="json")
    error_of(response, 415, "unsupported_media_type")


def test_a_model_file_over_the_limit_is_payload_too_large(manager, settings, iris_logistic_bytes):
    settings.PORTAL = {**settings.PORTAL, "MAX_ARTIFACT_BYTES": 1000}
    response = manager.post(
        "/api/v1/models/",
        {"name": "big", "artifact": upload("big.skops", iris_logistic_bytes)},
        format="multipart",
    )
    error_of(response, 413, "payload_too_large")
    assert not ModelVersion.objects.exists()


# ---------------------------------------------------------------- aliases
def test_a_manager_sets_and_removes_an_alias(clinic_version, manager):
    response = manager.put(
        "/api/v1/models/clinic/aliases/challenger/", {"version": 1}, format="json"
    )
    assert response.json() == {"model": "clinic", "alias": "challenger", "version": 1}
    alias = Alias.objects.get(name="challenger")
    assert alias.version == clinic_version and alias.updated_by == manager.user
    assert manager.delete("/api/v1/models/clinic/aliases/challenger/").status_code == 204
    assert not Alias.objects.filter(name="challenger").exists()
    actions = AuditEvent.objects.filter(actor=manager.user).values_list("action", flat=True)
    assert sorted(actions) == ["alias.removed", "alias.set"]


def test_alias_errors_are_404_or_invalid_input(clinic_version, manager):
    path = "/api/v1/models/clinic/aliases/challenger/"
    error_of(manager.put(path, {"version": 5}, format="json"), 404, "not_found")
    error_of(manager.put(path, {"version": "two"}, format="json"), 400, "invalid_input")
    error_of(manager.put(path, {}, format="json"), 400, "invalid_input")
    error_of(manager.delete(path), 404, "not_found")
    error_of(
        manager.put("/api/v1/models/nope/aliases/x/", {"version": 1}, format="json"),
        404,
        "not_found",
    )


def test_a_manager_registers_a_model_that_describes_its_own_inputs(manager):
    # No reference data, no interface: the fitted encoder and scaler give the form.
    from tests.registry.test_interface_from_model import _penguin_model

    response = manager.post(
        "/api/v1/models/",
        {"name": "penguins", "artifact": upload("penguins.skops", sio.dumps(_penguin_model()))},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    inputs = {i["name"]: i for i in response.json()["interface"]["inputs"]}
    assert inputs["island"]["choices"] == ["Biscoe", "Dream", "Torgersen"]
    row = {"island": "Biscoe", "sex": "male", "bill_length_mm": 46, "flipper_length_mm": 220}
    answer = manager.post("/api/v1/models/penguins/predict/", {"inputs": [row]}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["predictions"][0]["label"] == "Gentoo"


def test_a_model_that_cannot_describe_its_inputs_needs_reference_data(manager, iris_logistic_bytes):
    response = manager.post(
        "/api/v1/models/",
        {"name": "flowers", "artifact": upload("flowers.skops", iris_logistic_bytes)},
        format="multipart",
    )
    assert response.status_code == 400
    assert "Give reference data or an explicit interface" in json.dumps(response.json())
    assert not RegisteredModel.objects.filter(name="flowers").exists()
