"""What the batch endpoints accept (a CSV upload) and answer (a job and its progress).

The upload's shape is checked here (a file, a version or alias); its content (UTF-8, a header
with every required input, the size limit) by ``registry.batch.jobs.batch_job_create``, which
names what is wrong. A job is answered in one shape, at upload (202) and whenever it is read.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from portal.api import openapi
from portal.api.serializers import (
    ChartField,
    ChartMixin,
    JSONValue,
    VersionChoiceSerializer,
    absolute,
)
from portal.charting.batch import job_figures
from registry.models import BatchJob, JobStatus

# ---------------------------------------------------------------- OpenAPI shapes
JOB_ERRORS = {
    "type": "array",
    "description": "Rows that could not be scored (the first 1,000); they have empty answers.",
    "items": {
        "type": "object",
        "properties": {
            "row": {"type": "integer", "description": "Data row, counted from 0."},
            "line": {"type": "integer", "description": "Line of the file (the header is 1)."},
            "fields": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                "description": "Messages by input.",
            },
            "message": {"type": "string"},
        },
        "required": ["row", "line", "fields", "message"],
    },
}
JOB_SUMMARY = {
    "type": "object",
    "description": "What the result holds, once the job succeeded; empty before.",
    "properties": {
        "rows_scored": {"type": "integer"},
        "class_counts": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "A classifier's rows per predicted class.",
        },
        "mean": {
            "type": "number",
            "nullable": True,
            "description": "A regressor's mean predicted value.",
        },
        "outside_training_range": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "Rows answered by extrapolation, by input.",
        },
    },
}
JOB_CHARTS = {
    "type": "object",
    "nullable": True,
    "description": (
        "With ?chart=true: the job page's graphs as Plotly figures, once the job succeeded "
        "(null before): the distribution of the predictions and the prediction by top input."
    ),
    "properties": {"distribution": openapi.FIGURE, "by_input": openapi.FIGURE},
}

JOB_ID = "0b8f3c1e-5d2a-4c6b-9e7f-1a2b3c4d5e6f"
JOB_URL = f"https://portal.example.com/api/v1/jobs/{JOB_ID}/"
QUEUED = {
    "id": JOB_ID,
    "model": "clinic",
    "version": 3,
    "status": "queued",
    "file": "patients.csv",
    "bytes": 184_320,
    "rows_total": None,
    "rows_done": 0,
    "rows_failed": 0,
    "progress": 0,
    "errors": [],
    "message": "",
    "summary": {},
    "created_at": "2025-03-04T09:15:02Z",
    "started_at": None,
    "finished_at": None,
    "url": JOB_URL,
    "result_url": None,
    "portal_url": f"https://portal.example.com/jobs/{JOB_ID}/",
}
SUCCEEDED = {
    **QUEUED,
    "status": "succeeded",
    "rows_total": 5000,
    "rows_done": 5000,
    "rows_failed": 1,
    "progress": 100,
    "errors": [
        {
            "row": 17,
            "line": 19,
            "fields": {"bmi": ["Enter a number."]},
            "message": "bmi: Enter a number.",
        }
    ],
    "summary": {
        "rows_scored": 4999,
        "class_counts": {"no": 3120, "yes": 1879},
        "outside_training_range": {"bmi": 4},
    },
    "started_at": "2025-03-04T09:15:03Z",
    "finished_at": "2025-03-04T09:15:05Z",
    "result_url": f"{JOB_URL}result/",
}
QUEUED_EXAMPLE = OpenApiExample("Accepted and waiting for a worker", value=QUEUED)
JOB_EXAMPLES = [
    OpenApiExample(
        "Finished with one row refused", value=SUCCEEDED, response_only=True, status_codes=[200]
    ),
]


# ---------------------------------------------------------------- requests
class BatchRequestSerializer(VersionChoiceSerializer):
    """A CSV to score, and the version that scores it (default: champion, else newest)."""

    file = serializers.FileField(
        max_length=255,
        help_text=(
            "CSV, UTF-8, the first line the column names: every required input of the "
            "version, and any other columns (kept in the result)."
        ),
    )


# ---------------------------------------------------------------- responses
@extend_schema_field(JOB_ERRORS)
class JobErrorsField(JSONValue):
    """The job's row errors, as stored."""


@extend_schema_field(JOB_SUMMARY)
class JobSummaryField(serializers.Field):
    """The public part of a job's summary (the graphs' samples stay inside)."""

    def __init__(self, **kwargs: Any):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, job: BatchJob) -> dict[str, Any]:
        summary = job.summary or {}
        if not summary:
            return {}
        public: dict[str, Any] = {"rows_scored": summary.get("rows", 0)}
        if "class_counts" in summary:
            public["class_counts"] = summary["class_counts"]
        if "mean" in summary:
            public["mean"] = summary["mean"]
        public["outside_training_range"] = summary.get("warnings") or {}
        return public


@extend_schema_field(JOB_CHARTS)
class JobChartField(ChartField):
    """The job's figures, only when the caller asked for them."""


@extend_schema_serializer(examples=JOB_EXAMPLES)
class JobSerializer(ChartMixin, serializers.ModelSerializer):
    """A batch job: where it is, what went wrong with which rows, and where its result is."""

    model = serializers.CharField(source="version.model.name")
    version = serializers.IntegerField(source="version.number")
    status = serializers.ChoiceField(
        choices=JobStatus.choices,
        help_text="queued, then running, then succeeded or failed (see message).",
    )
    file = serializers.CharField(source="input_name", help_text="The uploaded file's name.")
    bytes = serializers.IntegerField(source="input_bytes", help_text="Its size.")
    rows_total = serializers.IntegerField(
        allow_null=True, help_text="Rows in the file; null until a worker has read it."
    )
    rows_done = serializers.IntegerField(help_text="Rows scored so far, bad ones included.")
    rows_failed = serializers.IntegerField(help_text="Rows that could not be scored.")
    progress = serializers.SerializerMethodField(help_text="Percent of the rows done, 0–100.")
    errors = JobErrorsField()
    message = serializers.CharField(help_text="Why the job failed; empty otherwise.")
    summary = JobSummaryField()
    url = serializers.SerializerMethodField(help_text="This status, to poll.")
    result_url = serializers.SerializerMethodField(
        help_text="The scored CSV, once the job succeeded; null before."
    )
    portal_url = serializers.SerializerMethodField(help_text="The job's page in the portal.")
    chart = JobChartField()

    class Meta:
        model = BatchJob
        fields = [
            "id",
            "model",
            "version",
            "status",
            "file",
            "bytes",
            "rows_total",
            "rows_done",
            "rows_failed",
            "progress",
            "errors",
            "message",
            "summary",
            "created_at",
            "started_at",
            "finished_at",
            "url",
            "result_url",
            "portal_url",
            "chart",
        ]

    def get_progress(self, job: BatchJob) -> int:
        if job.status == JobStatus.SUCCEEDED:
            return 100
        return round(100 * job.rows_done / job.rows_total) if job.rows_total else 0

    def get_url(self, job: BatchJob) -> str:
        return absolute(self.context["request"], "api:job-detail", id=job.id)

    def get_result_url(self, job: BatchJob) -> str | None:
        if job.status != JobStatus.SUCCEEDED or not job.output_file:
            return None
        return absolute(self.context["request"], "api:job-result", id=job.id)

    def get_portal_url(self, job: BatchJob) -> str:
        return absolute(self.context["request"], "job_detail", id=job.id)

    def chart_of(self, job: BatchJob) -> dict[str, Any] | None:
        if job.status != JobStatus.SUCCEEDED or not job.output_file:
            return None
        return job_figures(job)
