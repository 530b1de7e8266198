"""The history page's date filter, its CSV download, and the list of batch jobs (issue 25)."""

import csv
import datetime as dt
import io
import re

from django.utils import timezone

from portal.pages import history
from registry.models import BatchJob, JobStatus, Prediction
from registry.predict.services import prediction_run

ROW = {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93.0, "s5": 4.6, "region": "north"}


def stored(version, user, day: str, source="api", name=""):
    """A prediction stored by ``user`` at noon (local time) on ``day``."""
    p = prediction_run(version=version, rows=[ROW], user=user, source=source).prediction
    noon = timezone.make_aware(dt.datetime.fromisoformat(day).replace(hour=12))
    Prediction.objects.filter(pk=p.pk).update(created_at=noon, name=name)
    return p


def listed(response) -> str:
    return response.content.decode()


def test_since_and_until_keep_the_days_between_both_included(as_analyst, analyst, clinic_version):
    before = stored(clinic_version, analyst, "2026-03-01")
    first = stored(clinic_version, analyst, "2026-03-02")
    last = stored(clinic_version, analyst, "2026-03-04")
    after = stored(clinic_version, analyst, "2026-03-05")
    html = listed(as_analyst.get("/predictions/?since=2026-03-02&until=2026-03-04"))
    assert str(first.id) in html and str(last.id) in html
    assert str(before.id) not in html and str(after.id) not in html
    assert "2 predictions match." in html
    assert 'value="2026-03-02"' in html and 'value="2026-03-04"' in html
    only_since = listed(as_analyst.get("/predictions/?since=2026-03-05"))
    assert str(after.id) in only_since and str(last.id) not in only_since


def test_the_date_filter_is_kept_in_the_pagination_links(as_analyst, analyst, clinic_version):
    for _ in range(26):
        stored(clinic_version, analyst, "2026-03-02")
    stored(clinic_version, analyst, "2026-04-01")
    html = listed(as_analyst.get("/predictions/?since=2026-03-01&until=2026-03-31&source=api"))
    older = re.search(r'href="([^"]*)">Older</a>', html).group(1).replace("&amp;", "&")
    assert "since=2026-03-01" in older and "until=2026-03-31" in older and "page=2" in older
    assert "26 predictions match." in html
    second = listed(as_analyst.get("/predictions/" + older))
    assert "26 predictions match." in second and "Page 2 of 2" in second


def test_a_bad_date_is_a_form_error_and_the_other_filters_still_apply(
    as_analyst, analyst, clinic_version
):
    api = stored(clinic_version, analyst, "2026-03-02", source="api")
    page = stored(clinic_version, analyst, "2026-03-02", source="page")
    response = as_analyst.get("/predictions/?since=2026-13-45&source=api")
    html = listed(response)
    assert response.status_code == 400
    assert re.search(r'role="alert">Enter a date as YYYY-MM-DD\.</span>', html)
    assert 'value="2026-13-45"' in html  # what was typed stays, to be corrected
    assert str(api.id) in html and str(page.id) not in html


def test_an_absurd_range_is_refused_with_a_reason(as_analyst, analyst, clinic_version):
    stored(clinic_version, analyst, "2026-03-02")
    backwards = as_analyst.get("/predictions/?since=2026-03-05&until=2026-03-01")
    assert backwards.status_code == 400
    assert "Until (2026-03-01) is before since (2026-03-05)." in listed(backwards)
    for far in ("0001-01-01", "9999-12-31"):
        response = as_analyst.get(f"/predictions/?until={far}")
        assert response.status_code == 400, far
        assert "Ensure this value is" in listed(response)
    wide = as_analyst.get("/predictions/?since=1970-01-01&until=9999-12-30")
    assert wide.status_code == 200 and "1 prediction matches." in listed(wide)


def download(client, query=""):
    response = client.get("/predictions/csv/" + query)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="predictions.csv"'
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_holds_the_filtered_history_newest_first(as_analyst, analyst, clinic_version):
    stored(clinic_version, analyst, "2026-03-01")
    older = stored(clinic_version, analyst, "2026-03-02", name="first")
    newer = stored(clinic_version, analyst, "2026-03-03", name="second")
    stored(clinic_version, analyst, "2026-03-03", source="page")
    rows = download(as_analyst, "?since=2026-03-02&until=2026-03-03&source=api")
    assert [r["id"] for r in rows] == [str(newer.id), str(older.id)]
    assert rows[0]["created_at"].startswith("2026-03-03T12:00:00")
    assert (rows[0]["model"], rows[0]["version"], rows[0]["source"]) == ("clinic", "1", "api")
    assert rows[0]["name"] == "second" and rows[0]["rows"] == "1"
    assert rows[0]["answer"] in ("yes", "no") and "user" not in rows[0]
    page = listed(as_analyst.get("/predictions/?since=2026-03-02&source=api"))
    link = re.search(r'href="(/predictions/csv/[^"]*)"', page).group(1).replace("&amp;", "&")
    assert "since=2026-03-02" in link and "source=api" in link


def test_the_csv_shows_only_my_answers_unless_i_am_a_manager(client, make_user, clinic_version):
    ana, bob, mia = make_user("ana"), make_user("bob"), make_user("mia", "manager")
    mine = stored(clinic_version, ana, "2026-03-02")
    theirs = stored(clinic_version, bob, "2026-03-02")
    client.force_login(ana)
    assert [r["id"] for r in download(client)] == [str(mine.id)]
    client.force_login(mia)
    rows = {r["id"]: r["user"] for r in download(client)}
    assert rows == {str(mine.id): "ana", str(theirs.id): "bob"}


def test_formula_like_cells_are_neutralised(as_analyst, analyst, clinic_version):
    stored(clinic_version, analyst, "2026-03-02", name='=HYPERLINK("http://x","y")')
    stored(clinic_version, analyst, "2026-03-01", name="-3.5")
    names = [r["name"] for r in download(as_analyst)]
    assert names == ['\'=HYPERLINK("http://x","y")', "-3.5"]  # a number stays a number


def test_a_bad_date_in_the_csv_link_shows_the_page_with_its_error(as_analyst, clinic_version):
    response = as_analyst.get("/predictions/csv/?until=yesterday")
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert "Enter a date as YYYY-MM-DD." in listed(response)


def test_the_csv_stops_at_its_bound(as_analyst, analyst, clinic_version, monkeypatch):

    monkeypatch.setattr(history, "HISTORY_CSV_MAX_ROWS", 3)
    for day in range(1, 6):
        stored(clinic_version, analyst, f"2026-03-0{day}")
    rows = download(as_analyst)
    assert [r["created_at"][:10] for r in rows] == ["2026-03-05", "2026-03-04", "2026-03-03"]
    page = listed(as_analyst.get("/predictions/"))
    assert "the newest 3 of 5 (narrow the dates for the rest)" in page


def job_of(version, user, name, status="queued", done=0, total=None):
    return BatchJob.objects.create(
        version=version,
        user=user,
        input_name=name,
        input_file="x.csv",
        status=status,
        rows_done=done,
        rows_total=total,
    )


def test_my_jobs_are_listed_newest_first_with_their_progress(client, make_user, clinic_version):
    ana, bob = make_user("ana"), make_user("bob")
    old = job_of(clinic_version, ana, "march.csv", JobStatus.SUCCEEDED, 120, 120)
    new = job_of(clinic_version, ana, "april.csv", JobStatus.RUNNING, 40, 200)
    BatchJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    theirs = job_of(clinic_version, bob, "bobs.csv")
    client.force_login(ana)
    html = listed(client.get("/jobs/"))
    rows = re.findall(r'<tr data-job="([^"]+)">(.*?)</tr>', html, re.S)
    assert [job for job, _ in rows] == [str(new.id), str(old.id)]
    assert str(theirs.id) not in html
    first = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", rows[0][1])).strip()
    assert first.startswith("april.csv Clinic") and "v1 Running 40 of 200" in first
    assert f'href="/jobs/{new.id}/"' in rows[0][1]
    assert "Your batch jobs" in html and "<th>User</th>" not in html
    history = listed(client.get("/predictions/"))
    assert 'href="/jobs/">Your batch jobs</a>' in history


def test_a_manager_sees_everyones_jobs_and_a_viewer_none(client, make_user, clinic_version):
    ana, mia, vic = make_user("ana"), make_user("mia", "manager"), make_user("vic", "viewer")
    job_of(clinic_version, ana, "ana.csv")
    job_of(clinic_version, mia, "mia.csv")
    client.force_login(mia)
    html = listed(client.get("/jobs/"))
    assert "ana.csv" in html and "mia.csv" in html and "<th>User</th>" in html
    client.force_login(vic)
    assert client.get("/jobs/").status_code == 403
    assert "/jobs/" not in listed(client.get("/predictions/"))  # no link to a refused page
