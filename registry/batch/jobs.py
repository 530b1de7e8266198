"""Batch jobs: created from an uploaded file, queued, and re-queued when a worker died."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from registry import roles
from registry.batch import files as batch
from registry.batch.tasks import batch_chunk_score, batch_job_start
from registry.limits import PayloadTooLarge
from registry.models import (
    BatchChunk,
    BatchJob,
    JobStatus,
    ModelVersion,
)
from registry.runtime import version_interface

# ------------------------------------------------------------------ batch jobs
BATCH_MAX_ATTEMPTS = 2


def batch_job_create(
    *, version: ModelVersion, upload: Any, name: str, user: User | AnonymousUser | None
) -> BatchJob:
    """Check an uploaded CSV, store it, and queue a job to score it.

    The header is checked now (every required input present, UTF-8), so a file that cannot be
    scored is refused at upload with the missing names; row errors come later, per row.
    """
    limit = settings.PORTAL["MAX_BATCH_BYTES"]
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise PayloadTooLarge({"file": [f"The file is larger than {limit:,} bytes."]})
    batch.header_check(interface=version_interface(version), head=batch.header_read(upload))
    job = BatchJob(
        version=version,
        user=roles.acting_user(user),
        input_name=name[:255] or "upload.csv",
        input_bytes=size or 0,
    )
    job.input_file = batch.store_upload(f"batch/{job.pk}/input.csv", upload)
    job.save()
    transaction.on_commit(lambda: batch_job_start.enqueue(str(job.pk)))
    return job


def batch_job_refresh(*, job: BatchJob) -> BatchJob:
    """Notice a worker that died mid-job: re-queue its chunk once, then fail the job.

    A running chunk whose heartbeat is older than ``BATCH_STALE_SECONDS`` lost its worker.
    Called whenever someone looks at a job, so no job stays "running" forever.
    """

    job.refresh_from_db()
    if job.status != JobStatus.RUNNING:
        return job
    cutoff = timezone.now() - dt.timedelta(seconds=settings.PORTAL["BATCH_STALE_SECONDS"])
    if job.chunks_total == 0 and job.started_at and job.started_at < cutoff:
        _batch_job_fail(job, "The worker stopped before the file was split. Upload it again.")
        return job
    for chunk in job.chunks.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff):
        last = chunk.first_row + chunk.rows - 1
        if chunk.attempts >= BATCH_MAX_ATTEMPTS:
            _batch_job_fail(
                job,
                f"Workers stopped {chunk.attempts} times while scoring rows "
                f"{chunk.first_row}–{last}; the job was stopped. Upload the file again.",
            )
            return job
        if BatchChunk.objects.filter(
            pk=chunk.pk, status=JobStatus.RUNNING, attempts=chunk.attempts
        ).update(status=JobStatus.QUEUED):
            pk = chunk.pk
            transaction.on_commit(lambda pk=pk: batch_chunk_score.enqueue(pk))
    return job


def _batch_job_fail(job: BatchJob, message: str) -> None:
    BatchJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=JobStatus.FAILED, message=message, finished_at=timezone.now()
    )
    job.refresh_from_db()
