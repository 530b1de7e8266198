"""POST /api/v1/models/ with ``mlflow_model``: a zip of an MLflow model directory.

The happy path zips a directory that real MLflow saved (tests/mlflow_env.py); the hostile
archives are built here, since refusing them must not depend on MLflow.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from pathlib import Path

import pytest
import skops.io as sio
import yaml

from registry.models import ModelVersion
from tests.api.conftest import error_of


def zipped(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    buffer.seek(0)
    buffer.name = "model.zip"
    return buffer


def zip_directory(root: Path, folder: str = "") -> io.BytesIO:
    return zipped(
        {f"{folder}{p.relative_to(root)}": p.read_bytes() for p in root.rglob("*") if p.is_file()}
    )


def send(client, archive: io.BytesIO, name: str = "houses", **extra):
    return client.post(
        "/api/v1/models/", {"name": name, "mlflow_model": archive, **extra}, format="multipart"
    )


def mlmodel(serialization_format: str = "skops", inputs: list | None = None) -> bytes:
    """An MLmodel as MLflow writes one (trimmed to what the portal reads)."""
    columns = inputs or [{"type": "double", "name": "sepal_length", "required": True}]
    return yaml.safe_dump(
        {
            "flavors": {
                "python_function": {"loader_module": "mlflow.sklearn", "model_path": "m"},
                "sklearn": {
                    "pickled_model": "model.skops" if serialization_format == "skops" else "m.pkl",
                    "serialization_format": serialization_format,
                    "sklearn_version": "1.9.1",
                },
            },
            "mlflow_version": "3.17.2",
            "signature": {"inputs": json.dumps(columns), "outputs": None},
        }
    ).encode()


def test_a_zipped_mlflow_directory_registers_with_its_signature(mlflow_server, manager):
    response = send(manager, zip_directory(mlflow_server.out / "dir-skops", "dir-skops/"))
    assert response.status_code == 201, response.content
    body = response.json()
    inputs = body["interface"]["inputs"]
    assert [(i["name"], i["type"]) for i in inputs] == [
        ("area", "number"),
        ("rooms", "integer"),
        ("district", "category"),
    ]
    assert body["lineage"]["origin"]["registry"] == "mlflow"
    assert body["lineage"]["origin"]["interface_from"] == "input_example"
    assert body["lineage"]["source"] == "API upload of model.zip"


def test_a_zipped_directory_with_reference_data_takes_its_ranges(mlflow_server, manager):
    data = Path(mlflow_server.logged["data"])
    reference = io.BytesIO(data.read_bytes())
    reference.name = "houses.csv"
    response = send(
        manager,
        zip_directory(mlflow_server.out / "dir-skops"),
        reference_data=reference,
        target="sold",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["lineage"]["origin"]["interface_from"] == "reference_data"
    assert body["lineage"]["reference_rows"] == 300
    assert "accuracy" in body["metrics"]


def test_a_pickled_mlflow_model_is_refused_with_the_line_that_resaves_it(manager):
    # No model file at all in the zip: the refusal comes from MLmodel, the pickle is never read.
    response = send(manager, zipped({"MLmodel": mlmodel("cloudpickle")}))
    error = error_of(response, 400, "invalid_input")
    [message] = error["fields"]["mlflow_model"]
    assert "MLflow saved this model with cloudpickle" in message
    assert 'serialization_format="skops"' in message
    assert not ModelVersion.objects.exists()


def test_a_tensor_signature_is_refused_by_name(manager, iris_logistic_bytes):
    tensor = [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}]
    archive = zipped({"MLmodel": mlmodel(inputs=tensor), "model.skops": iris_logistic_bytes})
    error = error_of(send(manager, archive), 400, "invalid_input")
    assert "tensors, not named columns" in error["fields"]["mlflow_model"][0]


def test_a_binary_column_is_refused_naming_it(manager, iris_logistic_bytes):
    columns = [{"type": "binary", "name": "photo", "required": True}]
    archive = zipped({"MLmodel": mlmodel(inputs=columns), "model.skops": iris_logistic_bytes})
    error = error_of(send(manager, archive), 400, "invalid_input")
    assert "Signature input 'photo' has MLflow type 'binary'" in error["fields"]["mlflow_model"][0]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"../MLmodel": b"flavors: {}"}, "points outside the archive"),
        ({"/etc/MLmodel": b"flavors: {}"}, "points outside the archive"),
        ({f"f{i}.txt": b"" for i in range(1_001)}, "1001 entries; at most 1000"),
        ({"MLmodel": b"\x00" * (8 * 1024 * 1024)}, "looks like a zip bomb"),
        ({"README.md": b"hello"}, "no MLmodel file"),
        ({"a/MLmodel": b"x", "b/MLmodel": b"x"}, "more than one MLflow model"),
        ({"MLmodel": b"flavors: [unclosed"}, "not readable YAML"),
        ({"MLmodel": b"flavors:\n  tensorflow: {}\n"}, "flavor tensorflow"),
        ({"MLmodel": b"flavors:\n  xgboost: {}\n"}, "XGBoost model in the 'xgb' format"),
        (
            {"MLmodel": b"flavors:\n  xgboost: {model_format: json, data: ../../x}\n"},
            "outside the model directory",
        ),
        ({"MLmodel": b"flavors:\n  onnx: {data: model.onnx}\n"}, "which is missing"),
    ],
    ids=[
        "climbs-out",
        "absolute",
        "too-many",
        "bomb",
        "no-mlmodel",
        "two-models",
        "yaml",
        "flavor",
        "xgboost-legacy",
        "data-climbs-out",
        "data-missing",
    ],
)
def test_hostile_or_wrong_archives_are_refused(manager, files, expected):
    error = error_of(send(manager, zipped(files)), 400, "invalid_input")
    assert expected in " ".join(error["fields"]["mlflow_model"])
    assert not ModelVersion.objects.exists()


def test_a_file_that_is_not_a_zip_is_refused(manager):
    archive = io.BytesIO(b"not a zip at all")
    archive.name = "model.zip"
    error = error_of(send(manager, archive), 400, "invalid_input")
    assert error["fields"]["mlflow_model"] == ["This is not a zip archive."]


def test_a_model_file_that_escapes_the_directory_is_refused(manager):
    text = mlmodel().replace(b"pickled_model: model.skops", b"pickled_model: ../model.skops")
    error = error_of(send(manager, zipped({"MLmodel": text})), 400, "invalid_input")
    assert "outside the model directory" in error["fields"]["mlflow_model"][0]


def test_artifact_and_mlflow_model_together_are_refused(manager, iris_logistic_bytes):
    artifact = io.BytesIO(iris_logistic_bytes)
    artifact.name = "m.skops"
    response = send(manager, zipped({"MLmodel": mlmodel()}), artifact=artifact)
    error = error_of(response, 400, "invalid_input")
    assert "either artifact" in error["fields"]["artifact"][0]


def test_an_untrusted_type_in_the_model_file_is_refused(manager):
    # A skops file naming a function, not a class: the allow-list refuses it as for artifact.
    evil = sio.dumps({"f": print})
    archive = zipped({"MLmodel": mlmodel(), "model.skops": evil})
    error = error_of(send(manager, archive), 400, "invalid_input")
    assert "allow-list" in " ".join(error["fields"]["artifact"])


def test_without_an_input_example_reference_data_is_asked_for(manager, iris_logistic_bytes):
    archive = zipped({"MLmodel": mlmodel(), "model.skops": iris_logistic_bytes})
    error = error_of(send(manager, archive), 400, "invalid_input")
    assert "no input example: give reference data" in error["fields"]["mlflow_model"][0]


# ---------------------------------------------------------------- hostile MLmodel and example
def alias_bomb(depth: int, *, at: str) -> bytes:
    """An MLmodel of a few hundred bytes where ``at`` is 9**depth strings, shared by aliases."""
    lines = ['l0: &l0 ["xxxxxxxx", "xxxxxxxx", "xxxxxxxx", "xxxxxxxx", "xxxxxxxx"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, depth)]
    text = mlmodel().decode()
    top = f"*l{depth - 1}"
    if at == "serialization_format":
        text = text.replace("serialization_format: skops", f"serialization_format: {top}")
    elif at == "run_id":
        text += f"run_id: {top}\n"
    else:
        text += f"saved_input_example_info: {{type: {top}, artifact_path: x.json}}\n"
    return ("\n".join(lines) + "\n" + text).encode()


@pytest.mark.parametrize("at", ["serialization_format", "run_id", "example_type"])
def test_a_yaml_alias_bomb_is_refused_in_a_short_answer(manager, iris_logistic_bytes, at):
    text = alias_bomb(6, at=at)  # 9**5 * 5 strings once expanded: ~3 MB as a message
    assert len(text) < 1000
    archive = zipped({"MLmodel": text, "model.skops": iris_logistic_bytes})
    response = send(manager, archive)
    error = error_of(response, 400, "invalid_input")
    assert "anchor or alias" in error["fields"]["mlflow_model"][0]
    assert len(response.content) < 1000
    assert not ModelVersion.objects.exists()


def example_zip(model_bytes: bytes, example: bytes, **info) -> io.BytesIO:
    text = mlmodel(inputs=[{"type": "double", "name": "x", "required": True}]).decode()
    text += yaml.safe_dump(
        {
            "saved_input_example_info": {
                "artifact_path": "input_example.json",
                "type": "dataframe",
                "pandas_orient": "split",
                **info,
            }
        }
    )
    return zipped(
        {"MLmodel": text.encode(), "model.skops": model_bytes, "input_example.json": example}
    )


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"MLmodel": b"flavors:\n  1: {}\n  2: {}\n"}, "flavor by something other than text"),
        ({"MLmodel": b"flavors: " + b"[" * 5000}, "nests deeper than 32 levels"),
        (
            {"MLmodel": mlmodel().replace(b"sklearn_version: 1.9.1", b"sklearn_version: [1, 2]")},
            "sklearn_version is a list, not text",
        ),
        ({"MLmodel": mlmodel() + b"run_id: " + b"a" * 5000 + b"\n"}, "longer than 200"),
    ],
    ids=["integer-flavor-keys", "deep-yaml", "list-version", "long-run-id"],
)
def test_mlmodel_values_of_the_wrong_type_are_refused_by_name(manager, files, expected):
    error = error_of(send(manager, zipped(files)), 400, "invalid_input")
    assert expected in error["fields"]["mlflow_model"][0]


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        (b'{"columns": ["x"], "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nests deeper"),
        (b'{"columns": ["x"], "data": [[[[1.5]]]]}', "Row 1 of the input example: 'x' is a list"),
        (b'{"columns": ["x", "x"], "data": [[1.5, 2.5]]}', "the column 'x' twice"),
        (b'{"columns": ["x"], "data": [[' + b"7" * 4000 + b"]]}", "4000 digits, beyond 64 bits"),
        (b'{"columns": ["x"], "data": [[1.5, 2.5]]}', "not lists of 1 values"),
    ],
    ids=["nested-deeply", "nested-cell", "duplicate-columns", "huge-integer", "ragged"],
)
def test_a_hostile_input_example_is_refused_naming_what(
    manager, iris_logistic_bytes, example, expected
):
    response = send(manager, example_zip(iris_logistic_bytes, example))
    error = error_of(response, 400, "invalid_input")
    assert expected in error["fields"]["mlflow_model"][0]
    assert len(response.content) < 1000


def declared_but_unreadable(name: str, size: int, others: dict[str, bytes]) -> io.BytesIO:
    """A zip whose member ``name`` declares ``size`` bytes (deflated well under the 100:1
    ratio) but whose data is damaged: only a reader that inflates it first can tell."""
    # Each KiB 16 random bytes and zeros: deflates ~40:1, under the ratio check.
    content = b"".join(os.urandom(16) + bytes(1008) for _ in range(size // 1024))
    archive = zipped({name: content, **others})
    data = bytearray(archive.getvalue())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(name)
    name_len, extra_len = struct.unpack(
        "<HH", data[info.header_offset + 26 : info.header_offset + 30]
    )
    start = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
    data[start : start + 64] = bytes(64)
    damaged = io.BytesIO(bytes(data))
    damaged.name = "model.zip"
    return damaged


def test_an_mlmodel_too_large_is_refused_by_its_declared_size_unread(manager):
    archive = declared_but_unreadable("MLmodel", 2 * 1024 * 1024, {})
    error = error_of(send(manager, archive), 400, "invalid_input")
    assert error["fields"]["mlflow_model"] == ["MLmodel is larger than 1,048,576 bytes."]


def test_a_model_file_too_large_is_refused_by_its_declared_size_unread(manager, settings):
    settings.PORTAL = {**settings.PORTAL, "MAX_ARTIFACT_BYTES": 1024 * 1024}
    archive = declared_but_unreadable("model.skops", 1536 * 1024, {"MLmodel": mlmodel()})
    assert len(archive.getvalue()) < 1024 * 1024  # the upload itself is under the limit
    error = error_of(send(manager, archive), 400, "invalid_input")
    assert error["fields"]["mlflow_model"] == ["model.skops is larger than 1,048,576 bytes."]


def test_a_zipped_lightgbm_flavor_registers_through_the_api(mlflow_server, manager):
    with open(mlflow_server.logged["data"], "rb") as data:
        reference = io.BytesIO(data.read())
    reference.name = "houses.csv"
    response = send(
        manager,
        zip_directory(mlflow_server.out / "dir-lightgbm"),
        reference_data=reference,
        target="sold",
    )
    assert response.status_code == 201, response.content
    assert response.json()["framework"] == "lightgbm"
