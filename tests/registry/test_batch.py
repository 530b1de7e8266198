import csv
import io

import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.batch.jobs import batch_job_create
from registry.models import BatchJob, JobStatus, Prediction
from tests.conftest import csv_bytes

pytestmark = pytest.mark.django_db


def upload(data: bytes, name="rows.csv"):
    return SimpleUploadedFile(name, data, content_type="text/csv")


def run(version, data, django_capture_on_commit_callbacks, user=None, name="rows.csv"):
    """Create a job and run every task it queues, as workers would, to the end."""
    with django_capture_on_commit_callbacks(execute=True):
        job = batch_job_create(version=version, upload=upload(data, name), name=name, user=user)
    job.refresh_from_db()
    return job


def result_rows(job) -> list[dict]:
    with default_storage.open(job.output_file, "rb") as handle:
        return list(csv.DictReader(io.StringIO(handle.read().decode())))


@pytest.fixture
def rows_5000(clinic_frame):
    frame = pd.concat([clinic_frame.drop(columns="high_risk")] * 12, ignore_index=True)[:5000]
    frame.insert(0, "customer_id", range(5000))
    return frame


def test_a_5000_row_file_with_bad_rows_lists_exactly_those(
    clinic_version, rows_5000, django_capture_on_commit_callbacks, settings, make_user
):
    settings.PORTAL = {**settings.PORTAL, "BATCH_CHUNK_ROWS": 700}
    frame = rows_5000.astype(object)
    frame.loc[17, "bmi"] = "heavy"
    frame.loc[2500, "sex"] = "robot"
    frame.loc[4999, "age"] = None
    user = make_user()
    job = run(clinic_version, csv_bytes(frame), django_capture_on_commit_callbacks, user=user)
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert (job.rows_total, job.rows_done, job.rows_failed) == (5000, 5000, 3)
    assert job.chunks_total == 8
    assert [(e["row"], list(e["fields"])) for e in job.errors] == [
        (17, ["bmi"]),
        (2500, ["sex"]),
        (4999, ["age"]),
    ]
    assert job.errors[0]["line"] == 19 and "Enter a number" in job.errors[0]["message"]
    rows = result_rows(job)
    assert [int(r["customer_id"]) for r in rows] == list(range(5000))  # every row, in order
    assert rows[17]["prediction"] == "" and rows[18]["prediction"] in ("yes", "no")
    assert {"probability_no", "probability_yes"} <= set(rows[0])
    assert sum(job.summary["class_counts"].values()) == 4997
    record = Prediction.objects.get(source="batch")
    assert (record.row_count, record.user, job.prediction) == (5000, user, record)


def test_the_result_matches_the_model(
    clinic_version, clinic_forest, clinic_frame, django_capture_on_commit_callbacks
):
    inputs = clinic_frame.drop(columns="high_risk").head(40)
    job = run(clinic_version, csv_bytes(inputs), django_capture_on_commit_callbacks)
    expected = clinic_forest.predict_proba(inputs)[:, 1]
    got = [float(r["probability_yes"]) for r in result_rows(job)]
    assert got == pytest.approx(expected, abs=1e-6)


def test_a_regression_job_writes_values(
    diabetes_version, diabetes_frame, django_capture_on_commit_callbacks
):
    job = run(
        diabetes_version,
        csv_bytes(diabetes_frame.drop(columns="progression")),
        django_capture_on_commit_callbacks,
    )
    rows = result_rows(job)
    assert len(rows) == len(diabetes_frame) and float(rows[0]["prediction"]) > 0
    assert len(job.summary["values"]) == len(diabetes_frame)


def test_a_file_missing_a_column_is_refused_at_upload(clinic_version, rows_5000):
    data = csv_bytes(rows_5000.drop(columns=["bmi", "region"]).head(5))
    with pytest.raises(ValidationError, match="lacks required inputs: bmi, region"):
        batch_job_create(version=clinic_version, upload=upload(data), name="x.csv", user=None)
    assert not BatchJob.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (
            "age,sex,bmi,bp,s5,region\n50,m\xe4nnlich,26,93,4.6,north\n".encode("latin-1"),
            "not UTF-8",
        ),
    ],
)
def test_empty_and_non_utf8_files_are_refused(clinic_version, data, message):
    with pytest.raises(ValidationError, match=message):
        batch_job_create(version=clinic_version, upload=upload(data), name="x.csv", user=None)


def test_a_non_utf8_line_deep_in_the_file_fails_the_job_clearly(
    clinic_version, rows_5000, django_capture_on_commit_callbacks
):
    data = csv_bytes(rows_5000.head(3000)) + "1,50,m\xe4le,26,93,4.6,north\n".encode("latin-1")
    job = run(clinic_version, data, django_capture_on_commit_callbacks)
    assert job.status == JobStatus.FAILED
    assert "Line 3002 is not UTF-8" in job.message
    assert not job.output_file


def test_a_header_without_rows_fails_with_a_reason(
    clinic_version, django_capture_on_commit_callbacks
):
    job = run(clinic_version, b"age,sex,bmi,bp,s5,region\n", django_capture_on_commit_callbacks)
    assert job.status == JobStatus.FAILED and "no rows" in job.message


def test_quoted_fields_with_newlines_are_not_cut(
    clinic_version, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL = {**settings.PORTAL, "BATCH_CHUNK_ROWS": 2}
    lines = ["note,age,sex,bmi,bp,s5,region"] + [
        f'"line one\nline two {i}",{40 + i},male,26.4,93,4.6,north' for i in range(5)
    ]
    job = run(
        clinic_version, ("\n".join(lines) + "\n").encode(), django_capture_on_commit_callbacks
    )
    assert job.status == JobStatus.SUCCEEDED, job.message
    rows = result_rows(job)
    assert [r["age"] for r in rows] == ["40", "41", "42", "43", "44"]
    assert rows[4]["note"] == "line one\nline two 4"


def test_a_chunk_whose_worker_died_twice_fails_the_job_with_the_rows_named(
    clinic_version, rows_5000, settings
):
    import datetime as dt

    from django.utils import timezone

    from registry.batch.jobs import batch_job_refresh
    from registry.models import BatchChunk

    settings.PORTAL = {**settings.PORTAL, "BATCH_CHUNK_ROWS": 1000}
    job = batch_job_create(
        version=clinic_version, upload=upload(csv_bytes(rows_5000)), name="x.csv", user=None
    )
    # What a second dead worker leaves behind: the job running, a chunk started twice,
    # its heartbeat long silent.
    long_ago = timezone.now() - dt.timedelta(hours=1)
    BatchJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=long_ago, chunks_total=1, rows_total=1000
    )
    BatchChunk.objects.create(
        job=job,
        index=0,
        first_row=0,
        rows=1000,
        byte_start=0,
        byte_end=10,
        status=JobStatus.RUNNING,
        attempts=2,
        heartbeat_at=long_ago,
    )
    job = batch_job_refresh(job=job)
    assert job.status == JobStatus.FAILED
    assert job.message.startswith("Workers stopped 2 times while scoring rows 0–999")
    assert not job.output_file


def test_rows_the_model_cannot_answer_become_row_errors(
    clinic_version, rows_5000, django_capture_on_commit_callbacks
):
    frame = rows_5000.head(300).copy()
    frame.loc[[40, 211], "bmi"] = 1e308
    job = run(clinic_version, csv_bytes(frame), django_capture_on_commit_callbacks)
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert [e["row"] for e in job.errors] == [40, 211]
    assert "could not answer" in job.errors[0]["message"]
    rows = result_rows(job)
    assert rows[40]["prediction"] == "" and rows[41]["prediction"] in ("yes", "no")


def test_answers_from_outside_the_training_range_say_so_in_a_warnings_column(
    diabetes_version, diabetes_frame, django_capture_on_commit_callbacks
):
    frame = diabetes_frame.drop(columns="progression").head(30).copy()
    frame.insert(0, "patient_id", [f"p{i}" for i in range(30)])
    frame.loc[4, "bmi"] = 60.0
    frame.loc[7, ["age", "bp"]] = [99, 200.0]
    job = run(diabetes_version, csv_bytes(frame), django_capture_on_commit_callbacks)
    rows = result_rows(job)
    assert list(rows[0])[-3:] == ["prediction", "problem", "warnings"]
    assert rows[4]["warnings"] == "BMI 60 is outside the training range 18–42.2"
    assert rows[7]["warnings"] == (
        "Age 99 is outside the training range 19–79; BP 200 is outside the training range 62–133"
    )
    assert rows[4]["prediction"] and rows[4]["problem"] == ""  # answered, with the caveat
    assert [r["warnings"] for i, r in enumerate(rows) if i not in (4, 7)] == [""] * 28
    assert [(w["row"], w["line"], w["id"]["value"]) for w in job.summary["warned_rows"]] == [
        (4, 6, "p4"),
        (7, 9, "p7"),
    ]
    assert job.summary["warned_count"] == 2
