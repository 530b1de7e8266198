"""Reads of batch jobs and their result files. None writes."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db.models import QuerySet

from registry import roles
from registry.models import (
    BatchJob,
)


def batch_job_list(*, user: User | AnonymousUser, model: str | None = None) -> QuerySet[BatchJob]:
    """Batch jobs, newest first: the user's own, or everyone's for a manager."""
    qs = BatchJob.objects.select_related("version__model", "user")
    if not roles.has_role(user, roles.MANAGER):
        qs = qs.filter(user=user)
    if model:
        qs = qs.filter(version__model__name=model)
    return qs.order_by("-created_at")


def batch_job_get(*, user: User | AnonymousUser, id: Any) -> BatchJob:
    """One job the user may see; raises ``BatchJob.DoesNotExist`` otherwise."""
    try:
        return batch_job_list(user=user).get(pk=id)
    except (BatchJob.DoesNotExist, ValueError, ValidationError):
        raise BatchJob.DoesNotExist(f"No batch job {id} is visible to you.") from None


def batch_result_head(*, job: BatchJob, rows: int = 20) -> tuple[list[str], list[list[str]]]:
    """The header and first rows of a finished job's result file, for a preview table."""
    if not job.output_file:
        return [], []
    with default_storage.open(job.output_file, "rb") as handle:
        lines = [handle.readline() for _ in range(rows + 1)]
    reader = csv.reader(io.StringIO(b"".join(lines).decode("utf-8-sig")))
    table = list(reader)
    return (table[0], table[1:]) if table else ([], [])
