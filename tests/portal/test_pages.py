import gzip
import json
import re
from urllib.parse import parse_qs, urlparse

import plotly.graph_objects as go
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.catalog.services import model_version_register
from registry.models import Prediction, RegisteredModel
from registry.predict.services import prediction_run
from tests.conftest import csv_bytes

ROW = {"age": "50", "sex": "male", "bmi": "26.4", "bp": "93", "s5": "4.6", "region": "north"}


def figures(response) -> list[dict]:
    """The figures a page hands to plots.js."""
    html = response.content.decode()
    return [
        json.loads(m)
        for m in re.findall(
            r'<script type="application/json" data-plotly>(.*?)</script>', html, re.S
        )
    ]


def inline_scripts(response) -> list[str]:
    html = response.content.decode()
    return [
        tag
        for tag in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        if "application/json" not in tag
    ]


@pytest.mark.parametrize(
    "url",
    ["/", "/models/", "/models/clinic/", "/models/clinic/whatif/", "/predictions/", "/profile/"],
)
def test_every_page_needs_a_login(client, clinic_version, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_dashboard_shows_each_model_and_its_graphs(as_analyst, clinic_version, iris_version):
    response = as_analyst.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Clinic" in html and "Iris" in html
    assert [f["data"][0]["y"] for f in figures(response)] == [["Clinic"]]  # iris has no champion
    assert b"No answers in the last 14 days" in response.content
    prediction_run(
        version=iris_version,
        rows=[{"sepal_length": 5, "sepal_width": 3, "petal_length": 1.5, "petal_width": 0.2}],
        user=response.wsgi_request.user,
        source="api",
    )
    usage = figures(as_analyst.get("/"))[1]
    assert usage["data"][0]["name"] == "Iris" and usage["data"][0]["y"][-1] == 1
    assert inline_scripts(response) == []


def test_the_catalog_searches_and_filters(
    as_analyst, clinic_version, iris_version, diabetes_version
):
    assert b"Diabetes" in as_analyst.get("/models/?q=diab").content
    assert b"Iris" not in as_analyst.get("/models/?q=diab").content
    regression = as_analyst.get("/models/?task=regression").content.decode()
    assert "Diabetes" in regression and "Clinic" not in regression


def test_the_model_card_shows_interface_metrics_and_versions(as_analyst, clinic_version):
    response = as_analyst.get("/models/clinic/")
    html = response.content.decode()
    assert "female, male" in html  # categories of sex
    assert "ROC AUC" in html
    assert 'value="1" selected' in html  # the version picker
    kinds = {f["data"][0]["type"] for f in figures(response)}
    assert {"heatmap", "scatter", "bar"} <= kinds  # confusion, ROC/PR, importance


def test_unknown_models_and_versions_are_404(as_analyst, clinic_version):
    assert as_analyst.get("/models/nope/").status_code == 404
    assert as_analyst.get("/models/clinic/?version=7").status_code == 404
    assert as_analyst.get("/models/clinic/?version=x").status_code == 404


def test_a_viewer_may_read_but_not_ask(client, viewer, clinic_version):
    client.force_login(viewer)
    assert client.get("/models/clinic/").status_code == 200
    response = client.get("/models/clinic/whatif/")
    assert response.status_code == 403
    assert b"analyst role" in response.content


def test_the_whatif_page_answers_from_the_query_string(as_analyst, clinic_version, clinic_forest):
    import pandas as pd

    response = as_analyst.get("/models/clinic/whatif/", ROW)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="bmi"' in html and 'type="range"' in html
    assert 'value="26.4"' in html
    expected = clinic_forest.predict_proba(
        pd.DataFrame([{**ROW, "age": 50, "bmi": 26.4, "bp": 93.0, "s5": 4.6}])
    )[0]
    answer = figures(response)[0]["data"][0]
    assert answer["x"] == pytest.approx(list(expected), abs=1e-6)
    # Why, beside the answer: the waterfall from the average to this answer.
    assert figures(response)[1]["data"][0]["type"] == "waterfall"
    sensitivity = figures(response)[2]
    assert {t["xaxis"] for t in sensitivity["data"]} == {"x", "x2", "x3", "x4", "x5", "x6"}
    assert not Prediction.objects.exists()  # a question, not a decision
    assert inline_scripts(response) == []


def redraw(client, params: dict, **headers) -> dict:
    """What the what-if page's script gets back for ``params``."""
    response = client.get("/models/clinic/whatif/", {**params, "format": "json"}, **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    if response.get("Content-Encoding") == "gzip":
        return json.loads(gzip.decompress(response.content))
    return response.json()


def test_the_page_script_gets_the_answer_and_each_figure_as_json(as_analyst, clinic_version):
    body = redraw(as_analyst, {**ROW, "bmi": "90"})
    assert body["answered"] is True
    assert re.search(r"data-answer>(yes|no)", body["answer"])
    # The figures are keyed as the page's containers are, the answer first.
    assert list(body["figures"]) == ["answer", "sensitivity", "sensitivity_rest", "heatmap", "why"]
    assert body["figures"]["heatmap"] is None
    assert body["figures"]["why"]["data"][0]["type"] == "waterfall"
    assert "data-explanation-summary" in body["answer"]
    assert body["figures"]["sensitivity_rest"] is None  # 6 inputs: all in the first figure
    for fig in (body["figures"]["answer"], body["figures"]["sensitivity"]):
        go.Figure(fig)
    page = as_analyst.get("/models/clinic/whatif/", {**ROW, "bmi": "90"})
    assert figures(page)[:3] == [
        body["figures"]["answer"],
        body["figures"]["why"],  # beside the answer
        body["figures"]["sensitivity"],
    ]
    # The out-of-range warning goes next to its field; the save form gets the new inputs.
    assert "outside the training range" in body["fields"]["bmi"]["warning"]
    assert ["bmi", "90.0"] in body["save"]
    # The same answer over the Accept header, compressed for a browser that takes gzip.
    response = as_analyst.get(
        "/models/clinic/whatif/",
        {**ROW, "bmi": "90"},
        headers={"Accept": "application/json", "Accept-Encoding": "gzip"},
    )
    assert response["Content-Encoding"] == "gzip"
    assert "Accept" in response["Vary"]  # one URL, HTML or JSON: caches must tell them apart
    assert json.loads(gzip.decompress(response.content))["figures"] == body["figures"]
    assert not Prediction.objects.exists()  # a question, not a decision


def test_a_bad_input_in_a_redraw_is_named_next_to_its_field(as_analyst, clinic_version):
    body = redraw(as_analyst, {**ROW, "bmi": "abc", "sex": "robot"})
    assert body["answered"] is False
    assert body["fields"]["bmi"]["error"] == "Enter a number."
    assert "is not one of: female, male" in body["fields"]["sex"]["error"]
    assert body["fields"]["age"]["error"] == ""
    assert body["figures"] == {}
    assert "Fix the marked inputs" in body["answer"]
    # The banner names inputs as the form does, by label, not by code name.
    assert "BMI – Enter a number." in body["answer"] and "bmi –" not in body["answer"]


def test_a_typed_value_between_slider_steps_is_answered(as_analyst, clinic_version):
    page = as_analyst.get("/models/clinic/whatif/", ROW).content.decode()
    box = re.search(r"<input[^>]*id=\"in-bmi\"[^>]*>", page).group(0)
    assert 'step="any"' in box  # the browser lets any number through; the slider has its step
    body = redraw(as_analyst, {**ROW, "bmi": "33.93"})
    assert body["answered"] and ["bmi", "33.93"] in body["save"]


def test_the_curves_show_the_class_picked_whatever_the_answer(as_analyst, clinic_version):
    def curves(params: dict) -> tuple[str, list[list[float]]]:
        fig = redraw(as_analyst, params)["figures"]["sensitivity"]
        lines = [
            t["y"] for t in fig["data"] if t["type"] == "scatter" and t.get("meta") != "current"
        ]
        return fig["layout"]["yaxis"]["title"]["text"], lines

    # By default the positive class (the second, as scikit-learn orders a binary target's),
    # on both sides of the boundary.
    low, high = {**ROW, "bmi": "18", "s5": "3.5"}, {**ROW, "bmi": "45", "s5": "6"}
    assert redraw(as_analyst, low)["answer"] != redraw(as_analyst, high)["answer"]
    assert curves(low)[0] == curves(high)[0] == "P(yes)"
    # Picked, the other class: its probability, the complement of the first.
    label, picked = curves({**low, "focus": "no"})
    assert label == "P(no)"
    for mine, other in zip(picked, curves(low)[1], strict=True):
        assert [a + b for a, b in zip(mine, other, strict=True)] == pytest.approx([1.0] * len(mine))
    # An unknown class falls back to the default rather than failing.
    assert curves({**low, "focus": "maybe"})[0] == "P(yes)"


@pytest.fixture
def cancer_version(db):
    """A 30-input classifier: scikit-learn's breast cancer data, a logistic regression."""
    import skops.io as sio
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer(as_frame=True)
    frame = data.data.rename(columns=lambda c: c.replace(" ", "_"))
    frame["diagnosis"] = data.target.map({0: "malignant", 1: "benign"}).astype(object)
    X, y = frame.drop(columns="diagnosis"), frame["diagnosis"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    return model_version_register(
        name="cancer", artifact=sio.dumps(model), reference=csv_bytes(frame), target="diagnosis"
    )


def test_with_many_inputs_the_strongest_panels_come_first_the_rest_on_demand(
    as_analyst, cancer_version
):
    def panels(fig) -> list[str]:
        return [re.sub(r"</?b>", "", a["text"]) for a in fig["layout"]["annotations"]]

    url = "/models/cancer/whatif/"
    labels = {f["name"]: f.get("label") or f["name"] for f in cancer_version.interface["inputs"]}
    ranked = [
        labels[i["feature"]]
        for i in sorted(cancer_version.evaluation["importance"], key=lambda i: -i["mean"])
    ]
    first = json.loads(as_analyst.get(url, {"format": "json"}).content)["figures"]
    assert panels(first["sensitivity"]) == ranked[:9]
    assert first["sensitivity_rest"] is None
    page = as_analyst.get(url).content.decode()
    assert "Show the other 21 inputs too" in page
    every = json.loads(as_analyst.get(url, {"format": "json", "all": "1"}).content)["figures"]
    assert panels(every["sensitivity"]) == ranked[:9]
    assert panels(every["sensitivity_rest"]) == ranked[9:]


def test_the_heatmap_names_its_inputs_and_keeps_its_extent(as_analyst, clinic_version):
    fig = redraw(as_analyst, {**ROW, "x": "bmi", "y": "age", "focus": "yes"})["figures"]["heatmap"]
    go.Figure(fig)
    heat = fig["data"][0]
    assert heat["zmin"] == 0 and heat["zmax"] == 1 and heat["colorbar"]["tickformat"] == ".0%"
    label = {i["name"]: i["label"] for i in clinic_version.interface["inputs"]}
    assert fig["layout"]["title"]["text"] == f"P(yes) by {label['bmi']} and {label['age']}"
    far = redraw(as_analyst, {**ROW, "bmi": "95", "x": "bmi", "y": "age"})["figures"]["heatmap"]
    # A current value far outside the grid is marked at its edge; the axis does not stretch.
    assert far["layout"]["xaxis"]["range"] == fig["layout"]["xaxis"]["range"]
    assert far["data"][1]["x"][0] == far["layout"]["xaxis"]["range"][1]
    assert "95" in far["data"][1]["hovertemplate"]


def test_a_bad_input_is_shown_next_to_its_field(as_analyst, clinic_version):
    response = as_analyst.get("/models/clinic/whatif/", {**ROW, "sex": "robot", "bmi": "abc"})
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'id="err-bmi"[^>]*>Enter a number\.', html)
    assert "is not one of: female, male" in html
    assert figures(response) == []


def test_the_heatmap_appears_when_two_inputs_are_chosen(as_analyst, clinic_version):
    response = as_analyst.get("/models/clinic/whatif/", {**ROW, "x": "bmi", "y": "age"})
    assert [f["data"][0]["type"] for f in figures(response)][-1] == "heatmap"


def test_a_reference_row_prefills_the_form(as_analyst, clinic_version):
    response = as_analyst.get("/models/clinic/whatif/?row=3")
    row = clinic_version.reference_sample[3]
    assert f'value="{row["bmi"]}"' in response.content.decode()


def test_saving_a_scenario_stores_it_and_opens_its_permalink(as_analyst, analyst, clinic_version):
    response = as_analyst.post("/models/clinic/whatif/", {**ROW, "scenario_name": "Older"})
    stored = Prediction.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("prediction_detail", args=[stored.id])
    assert (stored.name, stored.source, stored.user) == ("Older", "page", analyst)
    page = as_analyst.get(response["Location"])
    assert b"Older" in page.content
    # The permalink opens the what-if page with the same inputs and version.
    link = re.search(r'href="(/models/clinic/whatif/\?[^"]+)"', page.content.decode()).group(1)
    params = {k: v[0] for k, v in parse_qs(urlparse(link.replace("&amp;", "&")).query).items()}
    assert params["bmi"] == "26.4" and params["version"] == "1"
    redraw = as_analyst.get(link.replace("&amp;", "&"))
    assert figures(redraw)[0] == figures(page)[0]  # the same answer, drawn the same


def test_out_of_range_warnings_name_the_input_as_people_read_it(as_analyst, clinic_version):
    # "bmi" is labelled "BMI": the warning under the answer and on the saved prediction says so.
    body = redraw(as_analyst, {**ROW, "bmi": "90"})
    assert re.search(r"<li>BMI: 90 is outside the training range", body["answer"])
    response = as_analyst.post("/models/clinic/whatif/", {**ROW, "bmi": "90", "scenario_name": "x"})
    page = as_analyst.get(response["Location"]).content.decode()
    assert re.search(r"<li>BMI: 90 is outside the training range", page)
    assert "<li>bmi:" not in page


def test_history_is_own_unless_manager(client, make_user, clinic_version):
    ana, bob, mia = make_user("ana"), make_user("bob"), make_user("mia", "manager")
    mine = prediction_run(version=clinic_version, rows=[ROW], user=ana, source="api").prediction
    theirs = prediction_run(version=clinic_version, rows=[ROW], user=bob, source="api").prediction
    client.force_login(ana)
    listing = client.get("/predictions/").content.decode()
    assert str(mine.id) in listing and str(theirs.id) not in listing
    assert client.get(f"/predictions/{theirs.id}/").status_code == 404
    client.force_login(mia)
    listing = client.get("/predictions/?source=api").content.decode()
    assert str(mine.id) in listing and str(theirs.id) in listing


def test_feedback_records_the_actual_outcome(as_analyst, analyst, clinic_version):
    p = prediction_run(version=clinic_version, rows=[ROW], user=analyst, source="page").prediction
    as_analyst.post(f"/predictions/{p.id}/", {"actual": "yes"})
    p.refresh_from_db()
    assert p.feedback == "yes"
    as_analyst.post(f"/predictions/{p.id}/", {"actual": "perhaps"})
    p.refresh_from_db()
    assert p.feedback == "yes"


def test_the_embed_works_with_a_signed_link_only(client, as_analyst, analyst, clinic_version):
    p = prediction_run(version=clinic_version, rows=[ROW], user=analyst, source="page").prediction
    detail = as_analyst.get(f"/predictions/{p.id}/").content.decode()
    link = re.search(r'value="http://testserver(/embed/predictions/[^"]+)"', detail).group(1)
    client.logout()
    embed = client.get(link)
    assert embed.status_code == 200
    # The answer's graph and why, in a sentence (a waterfall would not fit a 640x420 frame).
    assert [f["data"][0]["type"] for f in figures(embed)] == ["bar"]
    assert b"data-explanation-summary" in embed.content
    assert b"site-header" not in embed.content
    assert "frame-ancestors 'self'" in embed["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed
    assert client.get(f"/embed/predictions/{p.id}/?s=forged").status_code == 404
    assert client.get(f"/embed/predictions/{p.id}/").status_code == 302


def test_every_page_sends_a_strict_script_policy(as_analyst, clinic_version):
    policy = as_analyst.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]


def test_the_profile_page_makes_an_api_token(as_analyst, analyst):
    from rest_framework.authtoken.models import Token

    as_analyst.post("/profile/token/")
    first = Token.objects.get(user=analyst).key
    assert first in as_analyst.get("/profile/").content.decode()
    as_analyst.post("/profile/token/")
    assert Token.objects.get(user=analyst).key != first


def _models(numbers, artifact, reference):
    for i in numbers:
        model_version_register(
            name=f"m{i:02d}", artifact=artifact, reference=reference, tags=["t"], alias="champion"
        )


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


@pytest.mark.parametrize("url", ["/", "/models/", "/models/?tag=t"])
def test_catalog_pages_cost_the_same_queries_for_3_or_30_models(
    as_analyst, iris_logistic_bytes, iris_frame, url
):
    reference = csv_bytes(iris_frame.drop(columns="species"))
    _models(range(3), iris_logistic_bytes, reference)
    few = _count(as_analyst, url)
    _models(range(3, 30), iris_logistic_bytes, reference)
    assert RegisteredModel.objects.count() == 30
    assert _count(as_analyst, url) == few


def test_history_costs_the_same_queries_for_3_or_30_predictions(
    as_analyst, analyst, clinic_version
):
    for _ in range(3):
        prediction_run(version=clinic_version, rows=[ROW], user=analyst, source="api")
    few = _count(as_analyst, "/predictions/")
    for _ in range(27):
        prediction_run(version=clinic_version, rows=[ROW], user=analyst, source="api")
    assert _count(as_analyst, "/predictions/") == few


def test_the_model_card_costs_the_same_queries_for_1_or_5_versions(
    as_analyst, clinic_version, clinic_forest_bytes, clinic_csv
):
    few = _count(as_analyst, "/models/clinic/")
    for _ in range(4):
        model_version_register(
            name="clinic", artifact=clinic_forest_bytes, reference=clinic_csv, target="high_risk"
        )
    assert _count(as_analyst, "/models/clinic/") == few


def test_a_category_can_be_one_side_of_the_heatmap(as_analyst, clinic_version):
    response = as_analyst.get("/models/clinic/whatif/", {**ROW, "x": "bmi", "y": "region"})
    heatmap = figures(response)[-1]["data"][0]
    assert heatmap["type"] == "heatmap" and heatmap["y"] == ["east", "north", "south"]


def test_an_input_the_model_cannot_take_is_explained_on_the_page(as_analyst, clinic_version):
    response = as_analyst.get("/models/clinic/whatif/", {**ROW, "bmi": "1e308"})
    assert response.status_code == 200
    assert "The model could not answer these inputs" in response.content.decode()


def test_the_catalog_search_keeps_the_comparison_being_built(as_analyst, clinic_version):
    html = as_analyst.get("/models/?m=clinic%401&q=cli").content.decode()
    assert '<input type="hidden" name="m" value="clinic@1">' in html


def test_the_saved_prediction_reads_like_the_whatif(as_analyst, analyst, clinic_version):
    # Issue 25 item 6: the headline gives the class and its probability, the inputs are
    # rounded as the sentence rounds them, and the share link has a Copy button.
    row = {**ROW, "bmi": "26.4371"}
    p = prediction_run(version=clinic_version, rows=[row], user=analyst, source="page").prediction
    page = as_analyst.get(f"/predictions/{p.id}/").content.decode()
    out = p.outputs[0]
    shown = f"{out['probabilities'][str(out['label'])]:.0%}"
    headline = re.search(r'<p class="answer-number" data-answer>(.*?)</p>', page).group(1)
    assert re.sub(r"<[^>]+>", "", headline) == f"{out['label']} {shown} probability"
    sentence = re.search(r"<p data-explanation-summary>(.*?)</p>", page).group(1)
    # One rounding: 26.4371 reads 26.4371 in the table and the sentence, not 26.4 in one.
    assert "26.4371 (" in sentence
    cells = dict(re.findall(r"<tr><th>([^<]+)</th><td class=\"num\">([^<]+)</td></tr>", page))
    assert cells["BMI"] == "26.4371", cells
    link = re.search(r'id="embed-url"[^>]*>|value="([^"]+)"[^>]*id="embed-url"', page).group(0)
    assert "/embed/predictions/" in link
    assert re.search(r'<button[^>]*data-copy="#embed-url"[^>]*>Copy</button>', page)
    assert "js/copy.js" in page


def test_the_share_panel_says_other_sites_must_be_allowed(as_analyst, analyst, clinic_version):
    p = prediction_run(version=clinic_version, rows=[ROW], user=analyst, source="page").prediction
    page = as_analyst.get(f"/predictions/{p.id}/").content.decode()
    note = re.search(r"<p class=\"small\" data-frame-note>(.*?)</p>", page, re.S).group(1)
    assert "<code>EMBED_FRAME_ANCESTORS</code>" in note and "README" in note
