"""A batch job's result download, from the job page and from the API: one file, one rule."""

from __future__ import annotations

import csv
import io
import re

from registry.models import BatchJob, JobStatus
from tests.conftest import csv_bytes
from tests.portal.test_batch_pages import post_file


def test_the_download_says_why_a_row_got_no_answer_and_rounds_the_answers(
    as_analyst, clinic_version, clinic_frame, django_capture_on_commit_callbacks
):
    frame = clinic_frame.drop(columns="high_risk").head(30).copy()
    frame.insert(0, "customer_id", [f"C{i:04d}" for i in range(30)])
    frame["bmi"] = frame["bmi"].astype(object)
    frame.loc[4, "bmi"] = "abc"
    response = post_file(as_analyst, csv_bytes(frame), django_capture_on_commit_callbacks)
    job_url = response["Location"]
    page = as_analyst.get(job_url).content.decode()
    assert "queued" not in page.lower()  # no stale banner above the job's real status
    # The errors name the user's own id for the row.
    assert re.search(r"<th>customer_id</th><th[^>]*>Row</th>", page)
    row = r"<td>C0004</td><td[^>]*>4</td><td[^>]*>6</td><td>BMI \(bmi\): Enter a number"
    assert re.search(row, page)
    # The preview shows the answers first, after the id.
    header = re.search(r"First rows of the result.*?<thead><tr>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r"<th[^>]*>(\w+)</th>", header)[:6] == [
        "customer_id",
        "prediction",
        "probability_no",
        "probability_yes",
        "problem",
        "warnings",
    ]
    download = as_analyst.get(f"{job_url}result/")
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert list(rows[0])[-2:] == ["problem", "warnings"]
    assert rows[4]["problem"] == "BMI (bmi): Enter a number." and rows[4]["prediction"] == ""
    assert rows[0]["problem"] == ""
    assert all(len(r["probability_yes"].partition(".")[2]) == 3 for r in rows if r["prediction"])
    full = as_analyst.get(f"{job_url}result/", {"precision": "full"})
    exact = list(csv.DictReader(io.StringIO(b"".join(full.streaming_content).decode())))
    assert [r["customer_id"] for r in exact] == [r["customer_id"] for r in rows]
    assert any(len(r["probability_yes"].partition(".")[2]) > 3 for r in exact)
    assert all(
        abs(float(a["probability_yes"]) - float(b["probability_yes"])) <= 5e-4
        for a, b in zip(rows, exact, strict=True)
        if a["prediction"]
    )


def test_regression_answers_are_rounded_one_decimal_finer_than_the_target(diabetes_version):
    from registry.batch.files import result_decimals

    # The diabetes target is whole numbers: one decimal is what a prediction is worth.
    assert result_decimals(diabetes_version) == {"prediction": 1}


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_page_and_the_api_serve_one_file_with_one_rule(
    as_analyst, clinic_version, clinic_frame, django_capture_on_commit_callbacks
):
    frame = clinic_frame.drop(columns="high_risk").head(12)
    job_url = post_file(as_analyst, csv_bytes(frame), django_capture_on_commit_callbacks)[
        "Location"
    ]
    job_id = job_url.rstrip("/").rsplit("/", 1)[-1]
    api = f"/api/v1/jobs/{job_id}/result/"
    page_rounded = as_analyst.get(f"{job_url}result/")
    page_full = as_analyst.get(f"{job_url}result/", {"precision": "full"})
    api_full = as_analyst.get(api)
    api_rounded = as_analyst.get(api, {"precision": "rounded"})
    assert {r.status_code for r in (page_rounded, page_full, api_full, api_rounded)} == {200}
    # A person's default is rounded, a program's is every digit; each can ask for the other.
    bodies = {name: _body(r) for name, r in [("page", page_rounded), ("page_full", page_full)]}
    assert _body(api_full) == bodies["page_full"]
    assert _body(api_rounded) == bodies["page"]
    assert bodies["page"] != bodies["page_full"]
    names = {r["Content-Disposition"] for r in (page_rounded, page_full, api_full, api_rounded)}
    assert len(names) == 1
    refused = as_analyst.get(api, {"precision": "exact"})
    assert refused.status_code == 400 and refused.json()["error"]["fields"]["precision"]


def test_neither_face_serves_the_file_of_a_job_that_did_not_succeed(
    as_analyst, clinic_version, clinic_frame, django_capture_on_commit_callbacks
):
    frame = clinic_frame.drop(columns="high_risk").head(5)
    job_url = post_file(as_analyst, csv_bytes(frame), django_capture_on_commit_callbacks)[
        "Location"
    ]
    job = BatchJob.objects.get()
    assert job.output_file  # the worker wrote a result
    BatchJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)
    assert as_analyst.get(f"{job_url}result/").status_code == 404
    assert as_analyst.get(f"/api/v1/jobs/{job.pk}/result/").status_code == 404
