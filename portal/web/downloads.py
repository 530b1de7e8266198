"""Downloads of a batch job's result, one function for the page and the API.

Both faces serve the same file under the same name, only for a job that succeeded, full or
with the answers rounded (``registry.batch.files.result_decimals``). They differ in one
default, on purpose: a person's download is rounded (``?precision=full`` for all digits); a
program's (the API) is at full precision (``?precision=rounded`` for what the page shows).
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, StreamingHttpResponse

from registry.batch import files as batch_files
from registry.models import BatchJob, JobStatus

PRECISIONS = ("full", "rounded")


class NoResult(Exception):
    """The job has no result to download (yet, or ever)."""


def result_filename(job: BatchJob) -> str:
    """The name a job's result is downloaded under: the upload's, with -scored."""
    stem = job.input_name.rsplit(".", 1)[0] or "result"
    return f"{stem}-scored.csv"


def job_result_response(job: BatchJob, *, rounded: bool) -> FileResponse | StreamingHttpResponse:
    """The job's scored CSV as an attachment; ``NoResult`` unless the job succeeded."""
    if job.status != JobStatus.SUCCEEDED or not job.output_file:
        raise NoResult(f"Job {job.id} is {job.status}: it has no result to download.")
    handle = default_storage.open(job.output_file, "rb")
    if not rounded:
        return FileResponse(
            handle,
            as_attachment=True,
            filename=result_filename(job),
            content_type="text/csv; charset=utf-8",
        )
    response = StreamingHttpResponse(
        batch_files.rounded_result(handle, batch_files.result_decimals(job.version)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{result_filename(job)}"'
    return response
