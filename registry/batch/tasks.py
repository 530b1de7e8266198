"""Background work on Django's tasks framework: splitting and scoring batch jobs.

A job is split by one task, which enqueues one task per chunk; any number of workers score
chunks at once, and whichever finishes the last chunk assembles the result in order. Every
step is safe to run twice: a chunk re-queued after its worker died is scored again from its
byte range, and a result from a superseded attempt is discarded.
"""

from __future__ import annotations

import logging

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.tasks import task
from django.utils import timezone

from registry.batch import files as batch
from registry.models import BatchChunk, BatchJob, JobStatus, Source
from registry.predict.refusals import refusals_add
from registry.predict.services import prediction_create, usage_count
from registry.runtime import version_estimator, version_interface

log = logging.getLogger(__name__)


def _fail(job_id, message: str) -> None:
    BatchJob.objects.filter(pk=job_id).exclude(status=JobStatus.SUCCEEDED).update(
        status=JobStatus.FAILED, message=message, finished_at=timezone.now()
    )


@task()
def batch_job_start(job_id: str) -> None:
    """Split a queued job's file into chunks and enqueue one scoring task per chunk."""
    with transaction.atomic():
        job = BatchJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != JobStatus.QUEUED:
            return
        job.status, job.started_at = JobStatus.RUNNING, timezone.now()
        job.save(update_fields=["status", "started_at"])
    try:
        with default_storage.open(job.input_file, "rb") as handle:
            _, spans = batch.split(
                handle, chunk_rows=batch.chunk_rows(), chunk_bytes=batch.chunk_bytes()
            )
    except ValidationError as exc:
        _fail(job_id, " ".join(exc.messages))
        return
    if not spans:
        _fail(job_id, "The file has a header but no rows.")
        return
    with transaction.atomic():
        chunks = BatchChunk.objects.bulk_create(
            BatchChunk(
                job=job,
                index=i,
                first_row=s.first_row,
                rows=s.rows,
                byte_start=s.byte_start,
                byte_end=s.byte_end,
            )
            for i, s in enumerate(spans)
        )
        BatchJob.objects.filter(pk=job_id).update(
            rows_total=sum(s.rows for s in spans), chunks_total=len(spans)
        )
        ids = [c.pk for c in BatchChunk.objects.filter(job_id=job_id).order_by("index")]
        transaction.on_commit(lambda: [batch_chunk_score.enqueue(pk) for pk in ids])
    log.info("job %s: %d rows in %d chunks", job_id, sum(s.rows for s in spans), len(chunks))


@task()
def batch_chunk_score(chunk_id: int) -> None:
    """Score one chunk, store its piece, and finish the job if it was the last one."""
    with transaction.atomic():
        chunk = (
            BatchChunk.objects.select_for_update().select_related("job__version").get(pk=chunk_id)
        )
        if chunk.status == JobStatus.SUCCEEDED or chunk.job.status != JobStatus.RUNNING:
            return
        chunk.status, chunk.worker = JobStatus.RUNNING, batch.worker_name()
        chunk.attempts += 1
        chunk.heartbeat_at = timezone.now()
        chunk.save(update_fields=["status", "worker", "attempts", "heartbeat_at"])
    attempt, job, version = chunk.attempts, chunk.job, chunk.job.version
    interface = version_interface(version)
    top = [i["feature"] for i in (version.evaluation.get("importance") or [])[:3]]
    try:
        with default_storage.open(job.input_file, "rb") as handle:
            header = handle.readline()
            piece, errors, summary = batch.score_span(
                handle=handle,
                header=header,
                span=batch.Span(chunk.first_row, chunk.rows, chunk.byte_start, chunk.byte_end),
                interface=interface,
                estimator=version_estimator(version),
                top_inputs=top or interface.names[:3],
                monitor_share=batch.MONITOR_ROWS / max(1, job.rows_total or 0),
            )
    except Exception as exc:  # a chunk that cannot be read fails its job, with the reason
        log.exception("job %s chunk %s failed", job.pk, chunk.index)
        last = chunk.first_row + chunk.rows - 1
        _fail(job.pk, f"Rows {chunk.first_row}–{last} could not be scored: {exc}")
        return
    path = batch.store_bytes(f"batch/{job.pk}/part-{chunk.index:05d}.csv", piece)
    with transaction.atomic():
        updated = BatchChunk.objects.filter(
            pk=chunk.pk, attempts=attempt, status=JobStatus.RUNNING
        ).update(
            status=JobStatus.SUCCEEDED,
            output_file=path,
            errors=errors,
            summary=summary,
            rows_done=chunk.rows,
            rows_failed=summary["failed"],
            heartbeat_at=timezone.now(),
        )
        if not updated:
            return  # a newer attempt owns this chunk now
        BatchJob.objects.filter(pk=job.pk).update(
            rows_done=F("rows_done") + chunk.rows, rows_failed=F("rows_failed") + summary["failed"]
        )
        if summary["failed"]:
            # A refused row stores no answer; monitoring counts it with the API's refusals.
            usage_count(version=version, kind="refused.batch", n=summary["failed"])
            refusals_add(
                version=version,
                source=Source.BATCH,
                counts={
                    tuple(key.split("|", 1)): n for key, n in summary.get("refusals", {}).items()
                },
            )
    _finish_if_complete(job.pk)


def _finish_if_complete(job_id) -> None:

    with transaction.atomic():
        job = BatchJob.objects.select_for_update().select_related("version").get(pk=job_id)
        if (
            job.status != JobStatus.RUNNING
            or job.chunks.exclude(status=JobStatus.SUCCEEDED).exists()
        ):
            return
        chunks = list(job.chunks.order_by("index"))
        interface = version_interface(job.version)
        with default_storage.open(job.input_file, "rb") as handle:
            header = handle.readline()
        classes = list(chunks[0].summary.get("class_counts", {})) or [
            str(c) for c in interface.classes
        ]
        output = batch.concatenate(
            [c.output_file for c in chunks],
            batch.output_header(header, interface, classes),
            f"batch/{job.pk}/result.csv",
        )
        summary = batch.merge_summaries(interface.task, [c.summary for c in chunks])
        errors = [e for c in chunks for e in c.errors][: batch.MAX_ERRORS]
        head = next((c.summary["head"] for c in chunks if c.summary.get("head")), None)
        if head:
            # One record for the job: its first rows and answers, then a uniform sample of
            # the others for monitoring (batch.MONITOR_ROWS); the file holds them all.
            sampled = {
                part: [r for c in chunks for r in (c.summary.get("monitor") or {}).get(part, [])]
                for part in ("inputs", "outputs")
            }
            # Shuffled (seeded), so that any prefix of the sample is uniform over the file
            # too: monitoring's per-window readers take a record's first rows.
            order = np.random.default_rng(0).permutation(len(sampled["inputs"]))
            order = order[: batch.MONITOR_ROWS]
            sampled = {part: [rows[i] for i in order] for part, rows in sampled.items()}
            job.prediction = prediction_create(
                version=job.version,
                user=job.user,
                source=Source.BATCH,
                inputs=head["inputs"] + sampled["inputs"],
                outputs=head["outputs"] + sampled["outputs"],
                warnings=[],
                latency_ms=(timezone.now() - job.started_at).total_seconds() * 1000,
                name=f"Batch: {job.input_name}",
                row_count=job.rows_total or 0,
            )
        job.output_file, job.summary, job.errors = output, summary, errors
        job.status, job.finished_at = JobStatus.SUCCEEDED, timezone.now()
        job.save()
    for chunk in chunks:
        default_storage.delete(chunk.output_file)
