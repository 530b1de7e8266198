"""Registering an upload, for every face that takes one (the API's POST /api/v1/models/ and
the register page): a model file or an MLflow model's zip, with its reference data, through
the registry's services. Each face checks its own fields and sizes first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.files.uploadedfile import UploadedFile

from registry.catalog.services import model_version_register
from registry.mlflow.importer import mlflow_model_read, mlflow_model_register, zip_reader
from registry.models import ModelVersion


def upload_register(
    *,
    artifact: UploadedFile | None,
    mlflow_model: UploadedFile | None,
    reference_data: UploadedFile | None,
    keep: Sequence[str] = (),
    **fields: Any,
) -> ModelVersion:
    """Register ``artifact`` (a model file of any kind) or ``mlflow_model`` (a zip of an MLflow
    model directory); ``fields`` are the services' own (name, target, title, user …).
    ``keep`` applies to a model file."""
    common = {"reference": reference_data.read() if reference_data else None, **fields}
    if mlflow_model is not None:
        # Read in place (a large upload is a temporary file): only the members taken are
        # ever in memory, never the whole zip beside them.
        read, folder = zip_reader(mlflow_model)
        return mlflow_model_register(model=mlflow_model_read(read=read, uri=folder), **common)
    return model_version_register(artifact=artifact.read(), keep=keep, **common)
