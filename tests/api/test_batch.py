"""Batch scoring over the API: upload a CSV (202), poll the job, download the scored file.

Jobs run for real: the upload queues the job when the transaction commits, and the tests use
the immediate task backend, so running the captured on-commit callbacks runs the job to the
end in-process (split, every chunk scored, the result assembled), as workers would.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from django.core import signals
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections
from rest_framework.authtoken.models import Token

from registry.models import BatchJob
from tests.api.conftest import ROW, error_of
from tests.api.test_schemathesis import CHECKS, schema
from tests.conftest import csv_bytes
from tests.portal.test_pages import figures

UPLOAD = "/api/v1/models/clinic/batch/"
INPUTS = ["age", "sex", "bmi", "bp", "s5", "region"]


@pytest.fixture
def rows(clinic_frame) -> pd.DataFrame:
    """300 clinic rows with an id column first (kept in the result as it was)."""
    frame = pd.concat([clinic_frame.drop(columns="high_risk")] * 2, ignore_index=True)[:300]
    frame.insert(0, "patient", [f"p{n:04d}" for n in range(len(frame))])
    return frame


@pytest.fixture
def bad_rows(rows) -> pd.DataFrame:
    """The same rows, two of which the model cannot score: 5 (bmi) and 250 (sex)."""
    frame = rows.astype(object)
    frame.loc[5, "bmi"] = "heavy"
    frame.loc[250, "sex"] = "robot"
    return frame


def post(client, data: bytes, name: str = "patients.csv", **fields):
    return client.post(
        UPLOAD, {"file": SimpleUploadedFile(name, data, "text/csv"), **fields}, format="multipart"
    )


def run(client, data: bytes, capture, **fields):
    """Upload, then run the job the upload queued (the on-commit callbacks) to the end."""
    with capture(execute=True):
        response = post(client, data, **fields)
    assert response.status_code == 202, response.content
    return response


def stored_batch_files() -> set[str]:
    if not default_storage.exists("batch"):
        return set()
    folders, _ = default_storage.listdir("batch")
    return {
        f"{folder}/{name}"
        for folder in folders
        for name in default_storage.listdir(f"batch/{folder}")[1]
    }


def downloaded(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


# ---------------------------------------------------------------- who may
def test_anonymous_callers_get_401_and_viewers_403(clinic_version, anonymous, viewer, rows):
    data = csv_bytes(rows)
    for client, status, code in ((anonymous, 401, "not_authenticated"), (viewer, 403, None)):
        error_of(post(client, data), status, code or "permission_denied")
    assert not BatchJob.objects.exists()


def test_job_endpoints_need_an_analyst_too(
    clinic_version, analyst, anonymous, viewer, rows, django_capture_on_commit_callbacks
):
    job_url = run(analyst, csv_bytes(rows), django_capture_on_commit_callbacks).json()["url"]
    for url in (job_url, f"{job_url}result/"):
        response = anonymous.get(url)
        error_of(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == "Token"
        error_of(viewer.get(url), 403, "permission_denied")


# ---------------------------------------------------------------- upload and status
def test_an_upload_is_accepted_with_the_jobs_url(clinic_version, analyst, rows):
    response = post(analyst, csv_bytes(rows))  # no worker runs: the on-commit never fires
    assert response.status_code == 202
    body = response.json()
    job = BatchJob.objects.get()
    assert body["id"] == str(job.id)
    assert body["status"] == "queued"
    assert body["url"] == f"http://testserver/api/v1/jobs/{job.id}/"
    assert response["Location"] == body["url"]
    assert body["portal_url"] == f"http://testserver/jobs/{job.id}/"
    assert (body["model"], body["version"], body["file"]) == ("clinic", 1, "patients.csv")
    assert body["result_url"] is None
    assert (job.user, job.input_name, job.input_bytes) == (
        analyst.user,
        "patients.csv",
        len(csv_bytes(rows)),
    )


def test_a_queued_job_says_so(clinic_version, analyst, rows):
    url = post(analyst, csv_bytes(rows)).json()["url"]
    body = analyst.get(url).json()
    assert body["status"] == "queued"
    assert (body["rows_total"], body["rows_done"], body["rows_failed"]) == (None, 0, 0)
    assert (body["progress"], body["errors"], body["summary"]) == (0, [], {})
    assert (body["result_url"], body["started_at"], body["finished_at"]) == (None, None, None)
    assert "chart" not in body
    assert analyst.get(f"{url}?chart=true").json()["chart"] is None
    error = error_of(analyst.get(f"{url}result/"), 404, "not_found")
    assert "queued" in error["message"]


def test_a_finished_job_has_its_counts_summary_and_result_url(
    clinic_version, analyst, rows, django_capture_on_commit_callbacks
):
    url = run(analyst, csv_bytes(rows), django_capture_on_commit_callbacks).json()["url"]
    body = analyst.get(url).json()
    assert body["status"] == "succeeded", body["message"]
    assert (body["rows_total"], body["rows_done"], body["rows_failed"]) == (300, 300, 0)
    assert (body["progress"], body["errors"], body["message"]) == (100, [], "")
    assert body["result_url"] == f"{url}result/"
    assert body["started_at"] and body["finished_at"]
    summary = body["summary"]
    assert summary["rows_scored"] == 300
    assert set(summary["class_counts"]) == {"no", "yes"}
    assert sum(summary["class_counts"].values()) == 300
    assert isinstance(summary["outside_training_range"], dict)


def test_a_failed_job_says_why_and_has_no_result(
    clinic_version, analyst, django_capture_on_commit_callbacks
):
    header_only = ",".join(INPUTS).encode() + b"\n"
    url = run(analyst, header_only, django_capture_on_commit_callbacks).json()["url"]
    body = analyst.get(f"{url}?chart=true").json()
    assert body["status"] == "failed"
    assert body["message"] == "The file has a header but no rows."
    assert (body["result_url"], body["chart"], body["finished_at"] is not None) == (
        None,
        None,
        True,
    )
    error = error_of(analyst.get(f"{url}result/"), 404, "not_found")
    assert "failed" in error["message"]


def test_the_chart_is_the_job_pages_graphs(
    clinic_version, analyst, client, rows, django_capture_on_commit_callbacks
):
    body = run(analyst, csv_bytes(rows), django_capture_on_commit_callbacks).json()
    chart = analyst.get(f"{body['url']}?chart=true").json()["chart"]
    assert set(chart) == {"distribution", "by_input"}
    bars = chart["distribution"]["data"][0]
    assert bars["type"] == "bar"
    summary = analyst.get(body["url"]).json()["summary"]
    assert dict(zip(bars["x"], bars["y"], strict=True)) == summary["class_counts"]
    client.force_login(analyst.user)
    drawn = figures(client.get(f"/jobs/{body['id']}/"))
    assert drawn == [chart["distribution"], chart["by_input"]]


def test_bad_rows_are_listed_with_their_row_numbers_and_left_unanswered(
    clinic_version, analyst, bad_rows, django_capture_on_commit_callbacks
):
    url = run(analyst, csv_bytes(bad_rows), django_capture_on_commit_callbacks).json()["url"]
    body = analyst.get(url).json()
    assert body["status"] == "succeeded"
    assert (body["rows_total"], body["rows_failed"]) == (300, 2)
    assert [(e["row"], e["line"], list(e["fields"])) for e in body["errors"]] == [
        (5, 7, ["bmi"]),
        (250, 252, ["sex"]),
    ]
    assert "number" in body["errors"][0]["message"]
    assert "robot" in body["errors"][1]["message"]
    assert body["summary"]["rows_scored"] == 298
    rows = downloaded(analyst.get(body["result_url"]))
    assert len(rows) == 300
    assert [r["patient"] for r in rows if not r["prediction"]] == ["p0005", "p0250"]
    assert rows[5]["probability_yes"] == rows[5]["probability_no"] == ""


# ---------------------------------------------------------------- result
def test_the_result_is_the_file_with_the_models_answers_appended(
    clinic_version, analyst, rows, django_capture_on_commit_callbacks
):
    url = run(analyst, csv_bytes(rows), django_capture_on_commit_callbacks).json()["url"]
    response = analyst.get(f"{url}result/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="patients-scored.csv"'
    result = downloaded(response)
    assert list(result[0]) == [
        "patient",
        *INPUTS,
        "prediction",
        "probability_no",
        "probability_yes",
        "problem",
        "warnings",
    ]
    assert [r["patient"] for r in result] == list(rows["patient"])
    assert [r["bmi"] for r in result] == [str(v) for v in rows["bmi"]]
    # The same answers as the predict endpoint gives for the same rows.
    first = rows.head(5)[INPUTS].to_dict("records")
    answers = analyst.post(
        "/api/v1/models/clinic/predict/", {"inputs": first}, format="json"
    ).json()["predictions"]
    for row, answer in zip(result[:5], answers, strict=True):
        assert row["prediction"] == answer["label"]
        assert float(row["probability_yes"]) == pytest.approx(answer["probabilities"]["yes"])


def test_the_result_can_be_asked_for_as_text_csv(
    clinic_version, analyst, rows, django_capture_on_commit_callbacks
):
    url = run(analyst, csv_bytes(rows), django_capture_on_commit_callbacks).json()["url"]
    response = analyst.get(f"{url}result/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and len(downloaded(response)) == 300
    missing = analyst.get(
        url.replace(url.split("/")[-2], "0" * 32) + "result/", HTTP_ACCEPT="text/csv"
    )
    error_of(missing, 404, "not_found")  # errors stay JSON whatever the client accepts


# ---------------------------------------------------------------- refused files
def test_a_file_missing_columns_is_refused_with_their_names_and_nothing_stored(
    clinic_version, analyst, rows, django_capture_on_commit_callbacks
):
    before = stored_batch_files()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(analyst, csv_bytes(rows.drop(columns=["bmi", "region"])))
    error = error_of(response, 400, "invalid_input")
    assert error["fields"] == {"file": ["The header lacks required inputs: bmi, region."]}
    assert "bmi, region" in error["message"]
    assert not BatchJob.objects.exists() and callbacks == []
    assert stored_batch_files() == before


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        ("age,sex,bmi,bp,s5,region\n50,männlich,26,93,4.6,north\n".encode("latin-1"), "UTF-8"),
    ],
    ids=["no-bytes", "blank-lines", "latin-1"],
)
def test_empty_and_non_utf8_files_are_refused(clinic_version, analyst, data, words):
    before = stored_batch_files()
    error = error_of(post(analyst, data), 400, "invalid_input")
    assert words in error["message"] and list(error["fields"]) == ["file"]
    assert not BatchJob.objects.exists()
    assert stored_batch_files() == before


def test_an_upload_without_a_file_is_refused(clinic_version, analyst):
    error = error_of(
        analyst.post(UPLOAD, {"alias": "champion"}, format="multipart"), 400, "invalid_input"
    )
    assert list(error["fields"]) == ["file"]


def test_a_json_body_is_unsupported(clinic_version, analyst):
    error_of(analyst.post(UPLOAD, {"inputs": [ROW]}, format="json"), 415, "unsupported_media_type")


@pytest.mark.parametrize("size", [5_000, 200_000], ids=["checked-by-service", "refused-unread"])
def test_a_file_over_the_size_limit_is_refused_with_413(
    clinic_version, analyst, rows, settings, size
):
    """Over MAX_BATCH_BYTES: refused when received, or, when the whole body is larger than
    the limit allows, before it is read."""
    settings.PORTAL = {**settings.PORTAL, "MAX_BATCH_BYTES": 1_000}
    data = csv_bytes(pd.concat([rows] * (size // len(csv_bytes(rows)) + 1)))[:size]
    before = stored_batch_files()
    error = error_of(post(analyst, data), 413, "payload_too_large")
    assert "1,000 bytes" in error["message"]
    assert not BatchJob.objects.exists()
    assert stored_batch_files() == before


# ---------------------------------------------------------------- versions and ownership
def test_the_version_is_chosen_by_the_form_or_the_query(
    clinic_version, analyst, rows, clinic_forest_bytes, clinic_csv
):
    from registry.catalog.services import model_version_register

    model_version_register(
        name="clinic", artifact=clinic_forest_bytes, reference=clinic_csv, target="high_risk"
    )
    data = csv_bytes(rows)
    assert post(analyst, data).json()["version"] == 1  # the champion
    assert post(analyst, data, version="2").json()["version"] == 2
    assert post(analyst, data, alias="champion").json()["version"] == 1
    by_query = analyst.post(
        f"{UPLOAD}?version=2",
        {"file": SimpleUploadedFile("a.csv", data, "text/csv")},
        format="multipart",
    )
    assert by_query.json()["version"] == 2
    error_of(post(analyst, data, version="7"), 404, "not_found")
    error_of(post(analyst, data, alias="nope"), 404, "not_found")
    error = error_of(
        analyst.post(
            "/api/v1/models/unknown/batch/",
            {"file": SimpleUploadedFile("a.csv", data)},
            format="multipart",
        ),
        404,
        "not_found",
    )
    assert "unknown" in error["message"]


def test_another_users_job_is_not_found_but_a_manager_sees_it(
    clinic_version, analyst, client_as, manager, rows, django_capture_on_commit_callbacks
):
    url = run(analyst, csv_bytes(rows), django_capture_on_commit_callbacks).json()["url"]
    other = client_as("analyst", "other-analyst")
    for path in (url, f"{url}result/"):
        error = error_of(other.get(path), 404, "not_found")
        assert "No batch job" in error["message"]
    assert manager.get(url).json()["status"] == "succeeded"
    assert len(downloaded(manager.get(f"{url}result/"))) == 300


def test_an_unknown_job_is_a_404_in_the_error_shape(analyst):
    for path in ("/api/v1/jobs/0b8f3c1e-5d2a-4c6b-9e7f-1a2b3c4d5e6f/", "/api/v1/jobs/x/"):
        error_of(analyst.get(path), 404, "not_found")


# ---------------------------------------------------------------- the schema
@pytest.fixture
def wsgi_calls():
    """As Django's test client does: requests through the WSGI app must not close the
    connection that holds this test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_the_batch_answers_match_the_openapi_schema(
    clinic_version, make_user, rows, wsgi_calls, django_capture_on_commit_callbacks
):
    user = make_user("schema-analyst", "analyst")
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    upload = schema["/api/v1/models/{name}/batch/"]["POST"].Case(
        path_parameters={"name": "clinic"},
        body={"file": csv_bytes(rows), "alias": "champion"},
        media_type="multipart/form-data",
    )
    with django_capture_on_commit_callbacks(execute=True):
        accepted = upload.call_and_validate(headers=headers, checks=CHECKS)
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["id"]
    for path, query in (("/api/v1/jobs/{id}/", {"chart": True}), ("/api/v1/jobs/{id}/result/", {})):
        case = schema[path]["GET"].Case(path_parameters={"id": job_id}, query=query or None)
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        assert response.status_code == 200, response.text
    headers = {k.lower(): v for k, v in response.headers.items()}
    assert headers["content-type"] == ["text/csv; charset=utf-8"]
