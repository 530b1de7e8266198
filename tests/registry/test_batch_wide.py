"""Wide files: a header's width is capped and checked whole, chunks are bounded by bytes as
well as rows, and a result keeps every column of every row as it was sent without the worker
parsing columns the model does not read.

The worker's memory on a 200,000-column file is measured in test_batch_memory.py.
"""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from registry.batch import files as batch
from registry.batch.jobs import batch_job_create
from registry.models import JobStatus
from tests.registry.test_batch import run, upload

INPUTS = "age,sex,bmi,bp,s5,region"
ROW = "50,male,26.4,93.0,4.6,north"


def test_a_header_wider_than_the_cap_is_refused_at_upload(clinic_version, settings):
    settings.PORTAL = {**settings.PORTAL, "BATCH_MAX_COLUMNS": 50}
    extra = ",".join(f"x{i}" for i in range(45))
    with pytest.raises(ValidationError, match="The header has 51 columns; at most 50"):
        batch_job_create(
            version=clinic_version,
            upload=upload(f"{INPUTS},{extra}\n{ROW}\n".encode()),
            name="wide.csv",
            user=None,
        )


def test_a_column_repeated_after_the_first_64_kib_is_refused_naming_it(clinic_version):
    extra = ",".join(f"note_{i:03d}_{'x' * 90}" for i in range(900))  # ~90 KiB of header
    header = f"{INPUTS},{extra},age"
    assert len(header) > 64 * 1024
    with pytest.raises(ValidationError, match="more than once: age"):
        batch_job_create(
            version=clinic_version,
            upload=upload(f"{header}\n{ROW}\n".encode()),
            name="twice.csv",
            user=None,
        )


def test_chunks_end_at_the_byte_bound_before_the_row_bound():
    body = (INPUTS + "\n" + "\n".join([ROW] * 1000) + "\n").encode()
    _, spans = batch.split(io.BytesIO(body), chunk_rows=50_000, chunk_bytes=2_800)
    assert [s.rows for s in spans] == [100] * 10
    assert all(s.byte_end - s.byte_start == 2_800 for s in spans)
    assert spans[-1].byte_end == len(body)


def test_every_column_and_quoted_row_comes_back_as_it_was_sent(
    clinic_version, django_capture_on_commit_callbacks
):
    rows = [
        f'{ROW},"Smith, J.",00123,"a note\nover two lines",=cmd',
        f'{ROW},"O\'Neil","0042",plain,"=HYPERLINK(""x"")"',
        f"{ROW},Lee,7,,",
    ]
    data = f"{INPUTS},name,customer_id,note,formula\n" + "\r\n".join(rows) + "\r\n"
    job = run(clinic_version, data.encode(), django_capture_on_commit_callbacks)
    assert job.status == JobStatus.SUCCEEDED, job.message
    with default_storage.open(job.output_file, "rb") as handle:
        lines = handle.read().decode().split("\n")
    assert lines[1].startswith(f'{ROW},"Smith, J.",00123,"a note')  # kept to the letter
    assert lines[2].startswith("over two lines\",'=cmd,")  # the formula made text
    assert lines[3].startswith(f'{ROW},O\'Neil,0042,plain,"\'=HYPERLINK(""x"")",')
    assert lines[4].startswith(f"{ROW},Lee,7,,,")


def test_a_header_line_over_1_mib_is_refused_at_upload(clinic_version):
    header = INPUTS + "," + "n" * (1024 * 1024)
    with pytest.raises(ValidationError, match="The header line is longer than 1,048,576 bytes"):
        batch_job_create(
            version=clinic_version,
            upload=upload(f"{header}\n{ROW}\n".encode()),
            name="long.csv",
            user=None,
        )
