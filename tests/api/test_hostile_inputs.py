"""Whole numbers beyond int64 are refused as bad input everywhere, never a 500."""

import csv
import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.batch.jobs import batch_job_create
from registry.models import JobStatus
from tests.api.conftest import ROW, error_of

HUGE = [1e300, "1e300", 9.3e18, "99999999999999999999"]


@pytest.mark.parametrize("age", HUGE)
def test_predict_refuses_a_whole_number_beyond_int64_naming_row_and_field(
    clinic_version, analyst, age
):
    response = analyst.post(
        "/api/v1/models/clinic/predict/", {"inputs": [ROW, {**ROW, "age": age}]}, format="json"
    )
    error = error_of(response, 400, "invalid_input")
    assert list(error["fields"]) == ["1"]
    assert "whole number between" in error["fields"]["1"]["age"][0]


def test_a_json_integer_beyond_64_bits_is_refused_when_parsed(clinic_version, analyst):
    response = analyst.post(
        "/api/v1/models/clinic/predict/", {"inputs": [{**ROW, "bmi": 2**70}]}, format="json"
    )
    assert "does not fit in 64 bits" in error_of(response, 400, "invalid_input")["message"]


@pytest.mark.parametrize("age", [1e300, "9.3e18"])
def test_whatif_refuses_a_whole_number_beyond_int64(clinic_version, analyst, age):
    response = analyst.post(
        "/api/v1/models/clinic/whatif/", {"inputs": {**ROW, "age": age}}, format="json"
    )
    error = error_of(response, 400, "invalid_input")
    assert "age" in error["fields"]["0"]


def test_the_whatif_page_shows_the_error_next_to_the_field(client, make_user, clinic_version):
    client.force_login(make_user("pat", "analyst"))
    response = client.get("/models/clinic/whatif/", {**ROW, "age": "1e300"})
    assert response.status_code == 200
    assert "Enter a whole number between" in response.content.decode()


def test_a_batch_row_beyond_int64_is_a_row_error_not_a_failed_chunk(
    clinic_version, clinic_frame, django_capture_on_commit_callbacks
):
    frame = clinic_frame.drop(columns="high_risk").head(40).astype(object)
    frame.loc[3, "age"] = "1e300"
    frame.loc[7, "age"] = "99999999999999999999"
    data = frame.to_csv(index=False).encode()
    with django_capture_on_commit_callbacks(execute=True):
        job = batch_job_create(
            version=clinic_version,
            upload=SimpleUploadedFile("rows.csv", data, content_type="text/csv"),
            name="rows.csv",
            user=None,
        )
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert (job.rows_done, job.rows_failed) == (40, 2)
    assert [(e["row"], list(e["fields"])) for e in job.errors] == [(3, ["age"]), (7, ["age"])]
    with default_storage.open(job.output_file, "rb") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read().decode())))
    assert rows[3]["prediction"] == "" and rows[4]["prediction"] in {"yes", "no"}
