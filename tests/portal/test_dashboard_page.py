"""The dashboard, catalog and history count use one way, and draw only what they must."""

from __future__ import annotations

import re

import pytest

from registry.predict.services import prediction_run, whatif_run
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
