"""The API's catalog: models, versions, interfaces, registration and aliases."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import serializers as s
from portal.api.base import (
    CHOOSING,
    READ_ERRORS,
    VERSION_QUERY,
    WRITE_ERRORS,
    VersionedView,
    errors,
    valid_data,
)
from portal.web.errors import RequestTooLarge
from portal.web.parsers import MultiPartParser
from portal.web.permissions import IsManager, IsViewer, ManagerWrites
from portal.web.registration import upload_register
from registry.catalog.selectors import (
    alias_map,
    model_version_list,
    model_version_select,
    registered_model_get,
    registered_model_list,
)
from registry.catalog.services import alias_remove, alias_set
from registry.releases.promotions import model_approval_set
from registry.runtime import version_interface


# ---------------------------------------------------------------- models and versions
class ModelListView(APIView):
    permission_classes = [IsViewer, ManagerWrites]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="models_list",
        tags=["models"],
        summary="The registered models",
        responses={200: s.ModelSummarySerializer(many=True), **errors(401, 403)},
    )
    def get(self, request: Request) -> Response:
        models = registered_model_list()
        return Response(
            s.ModelSummarySerializer(models, many=True, context={"request": request}).data
        )

    @extend_schema(
        operation_id="models_register",
        tags=["models"],
        summary="Register a model file as a new model or the next version of one",
        description=(
            "Multipart. The `artifact` must be a skops file whose types are all on the "
            "allow-list (pickle and joblib files are refused, never loaded). The interface "
            "is inferred from `reference_data` unless `interface` (JSON) is given; a change "
            "that breaks callers of the previous version needs `allow_breaking`. Instead of "
            "`artifact`, `mlflow_model` takes a zip of an MLflow model directory (sklearn "
            "flavor saved as skops): its signature gives the interface, its input example "
            "the defaults and its run the lineage; a pickled one is refused unread."
        ),
        request=s.RegisterRequestSerializer,
        responses={201: s.VersionSerializer, **errors(400, 401, 403, 413, 415)},
    )
    def post(self, request: Request) -> Response:
        data = valid_data(s.RegisterRequestSerializer, request.data)
        keys = ("artifact", "mlflow_model", "reference_data")
        files = {key: data[key] for key in keys if key in data}
        limit = settings.PORTAL["MAX_ARTIFACT_BYTES"]
        for key, upload in files.items():
            if upload.size > limit:
                raise RequestTooLarge(f"{key}: the file is larger than {limit} bytes.")
        upload = files.get("artifact") or files["mlflow_model"]
        version = upload_register(
            artifact=files.get("artifact"),
            mlflow_model=files.get("mlflow_model"),
            reference_data=files.get("reference_data"),
            keep=data.get("keep", []),
            name=data["name"],
            target=data.get("target") or None,
            title=data.get("title", ""),
            description=data.get("description", ""),
            interface=data.get("interface"),
            alias=data.get("alias"),
            allow_breaking=data["allow_breaking"],
            source=data.get("source") or f"API upload of {upload.name}",
            notes=data.get("notes", ""),
            user=request.user,
        )
        return Response(
            s.VersionSerializer(version, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class ModelSettingsSerializer(serializers.Serializer):
    requires_approval = serializers.BooleanField()


class ModelDetailView(APIView):
    permission_classes = [IsViewer, ManagerWrites]

    @extend_schema(
        operation_id="models_retrieve",
        tags=["models"],
        summary="A model and its versions",
        responses={200: s.ModelDetailSerializer, **errors(*READ_ERRORS)},
    )
    def get(self, request: Request, name: str) -> Response:
        model = registered_model_get(name=name)
        context = {
            "request": request,
            "versions": list(model_version_list(model=model)),
            "aliases": alias_map(model=model),
        }
        return Response(s.ModelDetailSerializer(model, context=context).data)

    @extend_schema(
        operation_id="models_update",
        tags=["models"],
        summary="Require (or not) a second manager's approval to move the champion (audited)",
        request=ModelSettingsSerializer,
        responses={200: s.ModelDetailSerializer, **errors(*WRITE_ERRORS)},
    )
    def patch(self, request: Request, name: str) -> Response:
        data = valid_data(ModelSettingsSerializer, request.data)
        model_approval_set(
            model=registered_model_get(name=name),
            required=data["requires_approval"],
            user=request.user,
        )
        return self.get(request, name)


class VersionDetailView(APIView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="versions_retrieve",
        tags=["models"],
        summary="One version: interface, metrics, parameters, lineage, aliases",
        responses={200: s.VersionSerializer, **errors(*READ_ERRORS)},
    )
    def get(self, request: Request, name: str, number: int) -> Response:
        version = model_version_select(model=registered_model_get(name=name), version=number)
        return Response(s.VersionSerializer(version, context={"request": request}).data)


class InterfaceView(VersionedView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="interface_retrieve",
        tags=["models"],
        summary="The interface of the selected version, with the JSON Schema of one row",
        description=CHOOSING,
        parameters=VERSION_QUERY,
        responses={200: s.InterfaceSerializer, **errors(400, *READ_ERRORS)},
    )
    def get(self, request: Request, name: str) -> Response:
        version = self.version_of(name)
        context = {"request": request, "interface": version_interface(version)}
        return Response(s.InterfaceSerializer(version, context=context).data)


class AliasView(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        operation_id="aliases_set",
        tags=["models"],
        summary="Point an alias (champion, challenger, …) at a version",
        request=s.AliasRequestSerializer,
        responses={200: s.AliasSerializer, **errors(*WRITE_ERRORS)},
    )
    def put(self, request: Request, name: str, alias: str) -> Response:
        data = valid_data(s.AliasRequestSerializer, request.data)
        model = registered_model_get(name=name)
        version = model_version_select(model=model, version=data["version"])
        pointer = alias_set(model=model, name=alias, version=version, user=request.user)
        return Response(s.AliasSerializer(pointer).data)

    @extend_schema(
        operation_id="aliases_remove",
        tags=["models"],
        summary="Remove an alias",
        responses={204: None, **errors(*READ_ERRORS)},
    )
    def delete(self, request: Request, name: str, alias: str) -> Response:
        alias_remove(model=registered_model_get(name=name), name=alias, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
