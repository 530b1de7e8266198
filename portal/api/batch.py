"""Batch scoring over the API: upload a CSV (202), poll the job, download the scored file.

The views are thin: a serializer checks the request, ``registry.batch.jobs`` acts (it checks
the file's header, stores it and queues the job once the transaction commits), a serializer
answers. Reading a job also notices a worker that died (``batch_job_refresh``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import renderers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import serializers as s
from portal.api.base import VERSION_QUERY, VersionedView, errors
from portal.api.batch_serializers import QUEUED_EXAMPLE, BatchRequestSerializer, JobSerializer
from portal.web.downloads import PRECISIONS, NoResult, job_result_response
from portal.web.parsers import MultiPartParser
from portal.web.permissions import IsAnalyst
from portal.web.throttles import BatchUploadThrottle
from registry.batch.jobs import batch_job_create, batch_job_refresh
from registry.batch.selectors import batch_job_get
from registry.models import BatchJob
from registry.predict.serving import served_version_find

JSON = "application/json"
CSV = "text/csv"
# Room in a multipart body for the form fields and boundaries around the file.
MULTIPART_OVERHEAD = 64 * 1024

NO_JOB = "No such job, or not one of yours (a manager sees everyone's)."


def batch_upload_limit() -> int:
    return settings.PORTAL["MAX_BATCH_BYTES"] + MULTIPART_OVERHEAD


class BatchUploadParser(MultiPartParser):
    """Multipart, refused before a byte is read when the body is over the batch file limit
    (the service checks the file's own size again once it is received)."""

    def limit(self) -> int:
        return batch_upload_limit()

    def too_large(self) -> str:
        return f"The file is larger than {settings.PORTAL['MAX_BATCH_BYTES']:,} bytes."


class CSVRenderer(renderers.BaseRenderer):
    """Lets a client ask for ``Accept: text/csv``; the result itself is a file response and
    errors are always JSON (see ``JobResultView.finalize_response``)."""

    media_type = CSV
    format = "csv"
    charset = "utf-8"
    render_style = "binary"

    def render(self, data: Any, accepted_media_type=None, renderer_context=None) -> bytes:
        return data if isinstance(data, bytes) else str(data or "").encode()


def _job(request: Request, id: Any) -> BatchJob:
    """A job the caller may see, with a dead worker noticed; 404 otherwise."""
    return batch_job_refresh(job=batch_job_get(user=request.user, id=id))


def _json_errors(*statuses: int) -> dict[Any, OpenApiResponse]:
    """``errors(...)``, keyed by (status, application/json): for a view that answers CSV."""
    described = {**errors(*statuses), **_no_job()}
    return {(code, JSON): described[code] for code in statuses}


def _no_job() -> dict[int, OpenApiResponse]:
    return {404: OpenApiResponse(s.ErrorSerializer, NO_JOB)}


class BatchCreateView(VersionedView):
    permission_classes = [IsAnalyst]
    throttle_classes = [BatchUploadThrottle]
    parser_classes = [BatchUploadParser]

    @extend_schema(
        operation_id="batch_create",
        tags=["batch"],
        summary="Upload a CSV to score in the background; poll the job at its url",
        description=(
            "Multipart: `file` is a CSV (UTF-8, first line the column names). Its header is "
            "checked now: a file missing a required input is refused (400 `invalid_input`, "
            "naming the missing columns), as are an empty or non-UTF-8 file; nothing is "
            "stored then. Over `PORTAL_MAX_BATCH_BYTES` it is refused with 413. Otherwise the "
            "job is queued (202, `Location` its status) and workers score it chunk by chunk; "
            "rows with a problem do not stop it, they are listed in the job's `errors`. "
            "The version is `version` or `alias` from the form, else from the query string, "
            "else the `champion` alias, else the newest version."
        ),
        parameters=[
            *VERSION_QUERY,
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI,
                OpenApiParameter.HEADER,
                response=[202],
                description="The job's status URL.",
            ),
        ],
        request=BatchRequestSerializer,
        examples=[
            OpenApiExample(
                "A CSV for the champion",
                value={"file": "patients.csv", "alias": "champion"},
                request_only=True,
                media_type="multipart/form-data",
            ),
        ],
        responses={
            202: OpenApiResponse(
                JobSerializer,
                "Queued: poll `url` until `status` is succeeded or failed.",
                examples=[QUEUED_EXAMPLE],
            ),
            **errors(400, 401, 403, 404, 413, 415, 429),
        },
    )
    def post(self, request: Request, name: str) -> Response:
        serializer = BatchRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        # A job that names no version or alias may be the canary's, like a predict call.
        version = self.version_of(
            name, data, find=partial(served_version_find, caller=request.user.pk)
        )
        job = batch_job_create(version=version, upload=upload, name=upload.name, user=request.user)
        body = JobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class JobDetailView(APIView):
    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="jobs_retrieve",
        tags=["batch"],
        summary="A batch job: status, progress, row errors, result URL, graphs on request",
        description=(
            "Your own jobs, or everyone's for a manager. Poll until `status` is `succeeded` "
            "(then `result_url` is the scored CSV) or `failed` (then `message` says why). "
            "Reading a job notices a worker that stopped: its rows are scored again, or the "
            "job fails with the rows named; it never succeeds with a partial file."
        ),
        parameters=[s.ChartQuerySerializer],
        responses={
            200: JobSerializer,
            **errors(400, 401, 403),
            **_no_job(),
        },
    )
    def get(self, request: Request, id: str) -> Response:
        query = s.ChartQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        context = {"request": request, "chart": query.validated_data["chart"]}
        return Response(JobSerializer(_job(request, id), context=context).data)


class JobResultView(APIView):
    permission_classes = [IsAnalyst]
    renderer_classes = [CSVRenderer, renderers.JSONRenderer]

    @extend_schema(
        operation_id="jobs_result",
        tags=["batch"],
        summary="The scored CSV of a job that succeeded",
        description=(
            "Every input line as uploaded, with `prediction` appended (and "
            "`probability_<class>` for a classifier); rows that could not be scored have "
            "empty answer cells. 404 until the job has succeeded. Full precision unless "
            "`precision=rounded` (the page's rounding)."
        ),
        parameters=[
            OpenApiParameter(
                "precision",
                str,
                enum=list(PRECISIONS),
                default="full",
                description="`rounded`: answers rounded as the job page shows them.",
            ),
            OpenApiParameter(
                "Content-Disposition",
                str,
                OpenApiParameter.HEADER,
                response=[200],
                description='attachment; filename="<upload>-scored.csv"',
            ),
        ],
        responses={
            (200, CSV): OpenApiResponse(OpenApiTypes.BINARY, "The scored CSV."),
            **_json_errors(400, 401, 403, 404),
        },
    )
    def get(self, request: Request, id: str) -> FileResponse:
        job = _job(request, id)
        precision = request.query_params.get("precision", "full")
        if precision not in PRECISIONS:
            raise ValidationError({"precision": [f"Choose one of: {', '.join(PRECISIONS)}."]})
        try:
            return job_result_response(job, rounded=precision == "rounded")
        except NoResult as exc:
            raise NotFound(str(exc)) from None

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):  # an error: JSON, whatever the client accepts
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = JSON
        return super().finalize_response(request, response, *args, **kwargs)
