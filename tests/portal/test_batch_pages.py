import csv
import io
import re

from django.core.files.uploadedfile import SimpleUploadedFile

from registry.models import BatchJob, JobStatus
from tests.conftest import csv_bytes
from tests.portal.test_pages import figures


def post_file(client, data: bytes, on_commit, name="people.csv"):
    with on_commit(execute=True):
        return client.post(
            "/models/clinic/batch/",
            {"file": SimpleUploadedFile(name, data, "text/csv"), "version": "1"},
        )


def test_the_template_has_the_header_and_an_example_row(as_analyst, clinic_version):
    response = as_analyst.get("/models/clinic/batch/?template=1")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["age", "sex", "bmi", "bp", "s5", "region"]
    assert len(rows) == 2 and rows[1][1] in ("female", "male")


def test_an_upload_is_scored_and_shown_with_graphs_and_a_download(
    as_analyst, clinic_version, clinic_frame, django_capture_on_commit_callbacks
):
    data = csv_bytes(clinic_frame.drop(columns="high_risk").head(120))
    response = post_file(as_analyst, data, django_capture_on_commit_callbacks)
    job = BatchJob.objects.get()
    assert response["Location"] == f"/jobs/{job.id}/"
    page = as_analyst.get(response["Location"])
    html = page.content.decode()
    assert job.status == JobStatus.SUCCEEDED
    assert 'value="100"' in html and "120 of 120 rows" in html
    assert "hx-trigger" not in html  # finished: the page stops polling
    kinds = [f["data"][0]["type"] for f in figures(page)]
    assert kinds == ["bar", "box"]
    download = as_analyst.get(f"/jobs/{job.id}/result/")
    assert download["Content-Disposition"] == 'attachment; filename="people-scored.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert len(rows) == 120 and rows[0]["prediction"] in ("yes", "no")


def test_rows_outside_the_training_range_are_counted_by_input_label(
    as_analyst, clinic_version, clinic_frame, django_capture_on_commit_callbacks
):
    frame = clinic_frame.drop(columns="high_risk").head(20).copy()
    frame.loc[:2, "bmi"] = 90.0  # three rows far above the training range
    response = post_file(as_analyst, csv_bytes(frame), django_capture_on_commit_callbacks)
    html = as_analyst.get(response["Location"]).content.decode()
    assert re.search(r"These answers are extrapolations: BMI in 3 rows\.", html)
    # Each row is named (row from 0, as the API counts; line in the file) with its values.
    table = re.search(r"<table data-warned-rows>.*?</table>", html, re.S).group(0)
    cells = re.findall(
        r'<td class="num">(\d+)</td><td class="num">(\d+)</td><td>([^<]*)</td>', table
    )
    assert [(row, line) for row, line, _ in cells] == [("0", "2"), ("1", "3"), ("2", "4")]
    assert all(m.startswith("BMI 90 is outside the training range ") for *_, m in cells)


def test_a_file_missing_columns_is_refused_with_their_names(
    as_analyst, clinic_version, clinic_frame, django_capture_on_commit_callbacks
):
    data = csv_bytes(clinic_frame[["age", "sex"]].head(5))
    response = post_file(as_analyst, data, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "lacks required inputs: bmi, bp, s5, region" in response.content.decode()
    assert not BatchJob.objects.exists()


def test_a_running_job_polls_for_progress(as_analyst, analyst, clinic_version, clinic_frame):
    from registry.batch.jobs import batch_job_create

    job = batch_job_create(  # no worker runs it: the on_commit never fires in this test
        version=clinic_version,
        upload=SimpleUploadedFile("a.csv", csv_bytes(clinic_frame)),
        name="a.csv",
        user=analyst,
    )
    html = as_analyst.get(f"/jobs/{job.id}/").content.decode()
    assert re.search(r'hx-trigger="every 1s"', html) and "Waiting for a worker" in html
    partial = as_analyst.get(f"/jobs/{job.id}/", headers={"HX-Request": "true"}).content
    assert b"<html" not in partial and b'id="job-status"' in partial


def test_jobs_are_private_to_their_owner(client, make_user, clinic_version, clinic_frame):
    from registry.batch.jobs import batch_job_create

    owner, other = make_user("own"), make_user("oth")
    job = batch_job_create(
        version=clinic_version,
        upload=SimpleUploadedFile("a.csv", csv_bytes(clinic_frame)),
        name="a.csv",
        user=owner,
    )
    client.force_login(other)
    assert client.get(f"/jobs/{job.id}/").status_code == 404
    assert client.get(f"/jobs/{job.id}/result/").status_code == 404
