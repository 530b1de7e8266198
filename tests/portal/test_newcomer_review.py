"""What a newcomer's review of every page found (issue 10), as a user would check it."""

from __future__ import annotations

import csv
import io
import re

import pytest
import skops.io as sio
from django.core.management import call_command
from sklearn.dummy import DummyClassifier

from registry.catalog.services import model_version_register
from registry.models import Prediction
from registry.predict.services import prediction_run, whatif_run
from tests.conftest import csv_bytes
from tests.portal.test_batch_pages import post_file
from tests.portal.test_pages import figures

CLINIC_ROW = {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93, "s5": 4.6, "region": "north"}


# ------------------------------------------------------------------ one definition of use
def _use_everywhere(client) -> tuple[int, int, int]:
    """What the dashboard's chart, the clinic tile in the catalog and the history count."""
    usage = next(
        f for f in figures(client.get("/")) if f["layout"]["title"]["text"] == "Answers per day"
    )
    chart = sum(sum(t["y"]) for t in usage["data"] if t["name"] == "Clinic")
    catalog = client.get("/models/").content.decode()
    tile = re.search(r"<dt>Answers</dt><dd>(\d+) in 14 days", catalog)
    history = client.get("/predictions/", {"model": "clinic"}).content.decode()
    listed = re.search(r"data-count>(\d+) prediction", history)
    return chart, int(tile.group(1)), int(listed.group(1))


def test_dashboard_catalog_and_history_count_the_same_predictions(
    as_analyst, analyst, make_user, clinic_version
):
    rows = [CLINIC_ROW] * 14
    prediction_run(version=clinic_version, rows=rows, user=analyst, source="api")  # 14 rows: 1
    prediction_run(version=clinic_version, rows=[CLINIC_ROW], user=analyst, source="api")
    whatif_run(  # a saved scenario is a stored prediction
        version=clinic_version, row=CLINIC_ROW, user=analyst, source="page", store=True
    )
    for _ in range(5):  # what-if redraws store nothing: not use
        whatif_run(version=clinic_version, row=CLINIC_ROW, user=analyst, source="page")
    other = make_user("olga")  # someone else's prediction is not this analyst's use
    prediction_run(version=clinic_version, rows=[CLINIC_ROW], user=other, source="api")
    assert _use_everywhere(as_analyst) == (3, 3, 3)
    dashboard = as_analyst.get("/").content.decode()
    assert "14 rows: " in dashboard  # the 14-row call is summarised, not its first row
    assert "API call" in dashboard and "Saved in the portal" in dashboard
    assert ">Page<" not in dashboard


def test_a_manager_sees_everyones_use_the_same_everywhere(client, manager, analyst, clinic_version):
    prediction_run(version=clinic_version, rows=[CLINIC_ROW], user=analyst, source="api")
    prediction_run(version=clinic_version, rows=[CLINIC_ROW] * 3, user=manager, source="api")
    client.force_login(manager)
    assert _use_everywhere(client) == (2, 2, 2)


def test_the_usage_axis_counts_in_whole_steps(as_analyst, analyst, clinic_version):
    for _ in range(3):
        prediction_run(version=clinic_version, rows=[CLINIC_ROW], user=analyst, source="api")
    usage = figures(as_analyst.get("/"))[-1]
    axis = usage["layout"]["yaxis"]
    assert (axis["tick0"], axis["dtick"], axis["tickformat"]) == (0, 1, ",d")


def test_classifiers_and_regressors_are_not_on_one_score_axis(
    as_analyst, clinic_version, diabetes_version
):
    from registry.catalog.services import alias_set

    alias_set(model=diabetes_version.model, name="champion", version=diabetes_version)
    headline = figures(as_analyst.get("/"))[0]
    by_axis = {t["xaxis"]: t["y"] for t in headline["data"]}
    assert by_axis == {"x": ["Clinic"], "x2": ["Diabetes"]}
    titles = [headline["layout"][k]["title"]["text"] for k in ("xaxis", "xaxis2")]
    assert titles[0].startswith("ROC AUC") and titles[1].startswith("R²")


# ------------------------------------------------------------------ plotly.js only where drawn
@pytest.mark.parametrize("url", ["/accounts/login/", "/profile/", "/predictions/", "/models/"])
def test_pages_without_a_graph_load_no_plotly(client, analyst, clinic_version, url):
    if url != "/accounts/login/":
        client.force_login(analyst)
    html = client.get(url).content.decode()
    assert "plotly" not in html
    client.force_login(analyst)
    assert "plotly.min.js" in client.get("/").content.decode()  # the dashboard draws


# ------------------------------------------------------------------ batch
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


# ------------------------------------------------------------------ admin
def test_a_manager_can_use_the_admin_and_records_stay_read_only(client, manager, clinic_version):
    manager.is_staff = True
    manager.save()
    client.force_login(manager)
    assert ">Admin</a>" in client.get("/").content.decode()
    assert client.get("/admin/registry/").status_code == 200
    model = clinic_version.model
    change = client.get(f"/admin/registry/registeredmodel/{model.pk}/change/")
    assert change.status_code == 200 and 'name="title"' in change.content.decode()
    client.post(
        f"/admin/registry/registeredmodel/{model.pk}/change/",
        {
            "title": "Clinic risk",
            "description": "",
            "owner": "",
            "tags": [],
            **{
                f"{prefix}-{k}": v
                for prefix in ("aliases", "versions")
                for k, v in {"TOTAL_FORMS": "0", "INITIAL_FORMS": "0"}.items()
            },
        },
    )
    model.refresh_from_db()
    assert model.title == "Clinic risk"
    version = client.get(f"/admin/registry/modelversion/{clinic_version.pk}/change/")
    assert version.status_code == 200 and 'name="notes"' not in version.content.decode()
    assert client.get("/admin/registry/prediction/add/").status_code == 403


def test_the_admin_link_shows_only_to_those_who_can_use_it(client, make_user, clinic_version):
    staff_analyst = make_user("sam", "analyst", is_staff=True)
    client.force_login(staff_analyst)
    assert ">Admin</a>" not in client.get("/").content.decode()


# ------------------------------------------------------------------ model card and diff
def test_the_model_card_speaks_plainly(as_analyst, clinic_version):
    response = as_analyst.get("/models/clinic/")
    html = response.content.decode()
    assert "<dt>Method</dt><dd>Random forest classifier" in html
    assert "ROC AUC<br><span" in html and "0.5 is a coin toss" in html
    assert "<th>Unit</th>" not in html and "<th>Limits</th>" not in html  # nothing fills them
    drawn = figures(response)
    titles = [f["layout"].get("title", {}).get("text") for f in drawn]
    assert "Metrics on reference data" not in titles  # the table says it
    importance = drawn[titles.index("Which inputs matter")]
    assert "BMI" in importance["data"][0]["y"]  # the interface's label, not "bmi"
    assert "Make challenger" not in html  # v1 is the champion and the only version


def test_promoting_a_worse_version_says_so(client, manager, clinic_version, clinic_frame):
    X, y = clinic_frame.drop(columns="high_risk"), clinic_frame["high_risk"]
    worse = DummyClassifier(strategy="most_frequent").fit(X, y)
    model_version_register(
        name="clinic",
        artifact=sio.dumps(worse),
        reference=csv_bytes(clinic_frame),
        target="high_risk",
    )
    client.force_login(manager)
    html = client.get("/models/clinic/aliases/champion/", {"version": 2}).content.decode()
    warning = re.search(r"data-metric-warning><strong>(.*?)</strong>", html).group(1)
    assert re.fullmatch(r"v2 is worse than v1 on (every metric|\d+ of \d+ metrics)\.", warning)


# ------------------------------------------------------------------ embed and profile
def test_the_embed_stands_alone(as_analyst, analyst, clinic_version):
    answer = prediction_run(version=clinic_version, rows=[CLINIC_ROW], user=analyst, source="api")
    prediction = Prediction.objects.get(pk=answer.prediction.pk)
    html = as_analyst.get(f"/embed/predictions/{prediction.id}/").content.decode()
    assert "<h1>Clinic</h1>" in html
    assert "data-answer>" in html and "Version 1" in html
    assert "<dt>BMI</dt><dd>26.4" in html
    assert 'class="site-header"' not in html


def test_the_token_is_copied_and_replaced_only_after_a_confirmation(as_analyst):
    first = as_analyst.post("/profile/token/", follow=True).content.decode()
    assert "Your API token is ready" in first and "no longer works" not in first
    assert 'data-copy="#api-token"' in first
    key = re.search(r'id="api-token"', first) and re.search(r'value="(\w{40})"', first).group(1)
    # Shown once: a later visit shows only its last characters.
    later = as_analyst.get("/profile/").content.decode()
    assert key not in later and f"••••••••••••{key[-4:]}</code>" in later
    assert 'id="api-token"' not in later
    confirm = as_analyst.get("/profile/", {"replace": "1"}).content.decode()
    assert "data-confirm-replace" in confirm and key not in confirm
    second = as_analyst.post("/profile/token/", follow=True).content.decode()
    assert "the old one no longer works" in second and key not in second
    assert re.search(r'id="api-token"[^>]*|value="(\w{40})"', second)


# ------------------------------------------------------------------ make run
def test_the_demo_login_keeps_its_password_across_runs(db, settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path
    call_command("demo_user")
    first = capsys.readouterr().out
    call_command("demo_user")
    assert capsys.readouterr().out == first
    call_command("demo_user", "--reset")
    assert capsys.readouterr().out != first


def test_seed_demo_knows_how_many_versions_each_demo_has():
    from registry.demo import DEMOS
    from registry.management.commands.seed_demo import DEMO_VERSIONS

    assert {d().name: len(d().versions) for d in DEMOS} == DEMO_VERSIONS
