"""The compare page: the set of models in the URL, one form over the union of their inputs,
answers and overlaid sensitivity curves redrawn from the view's JSON (as the what-if page's
are), and the reference-data section."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import parse_qs, urlparse

import plotly.graph_objects as go
import pytest
import skops.io as sio
from sklearn.tree import DecisionTreeRegressor

from registry.catalog.services import model_version_register
from registry.compare.comparison import comparison_plan, comparison_reference, comparison_whatif
from registry.models import Prediction
from tests.conftest import csv_bytes
from tests.portal.test_pages import figures, inline_scripts

ROW = {"age": "50", "sex": "male", "bmi": "26.4", "bp": "93", "s5": "4.6", "region": "north"}
THREE = {"m": ["clinic@1", "clinic@2", "clinic-lite@1"]}


def links(response, pattern: str) -> list[str]:
    hrefs = re.findall(r'href="([^"]+)"', response.content.decode())
    return [html_lib.unescape(h) for h in hrefs if re.search(pattern, html_lib.unescape(h))]


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


@pytest.fixture
def three(clinic_v2, lite_version):
    return [clinic_v2.model.versions.get(number=1), clinic_v2, lite_version]


# ------------------------------------------------------------------ who and which set
def test_it_needs_the_analyst_role(client, viewer, clinic_v2):
    assert client.get("/compare/", THREE).status_code == 302
    client.force_login(viewer)
    response = client.get("/compare/", THREE)
    assert response.status_code == 403 and b"analyst role" in response.content


def test_without_models_it_offers_every_version_to_add(as_analyst, three):
    response = as_analyst.get("/compare/")
    assert response.status_code == 200
    html = response.content.decode()
    for spec in ("clinic@1", "clinic@2", "clinic-lite@1"):
        assert f'<option value="{spec}">' in html
    assert figures(response) == []
    # With one model chosen, the picker keeps it and asks for another.
    one = as_analyst.get("/compare/", {"m": "clinic@2"}).content.decode()
    assert '<input type="hidden" name="m" value="clinic@2">' in one
    assert "Add at least one more model" in one


@pytest.mark.parametrize(
    ("specs", "status", "reason"),
    [
        (["clinic@1", "iris@1"], 400, "These models share no input"),
        (["clinic@1", "diabetes@1"], 400, "Compare models of one task"),
        (
            ["clinic@1", "clinic@champion"],
            400,
            "clinic@1 and clinic@champion are the same version (clinic@1)",
        ),
        (["clinic@1", "clinic@9"], 404, "Model &#x27;clinic&#x27; has no version 9."),
        (["clinic@1", "nope"], 404, "No model is named &#x27;nope&#x27;."),
        (["clinic@1", "clinic@"], 400, "is not a model: use name, name@version or name@alias"),
        (["clinic@1"] * 7, 400, "Compare at most 6 models at once (got 7)."),
    ],
)
def test_a_set_that_cannot_be_compared_shows_the_reason(
    as_analyst, clinic_version, iris_version, diabetes_version, specs, status, reason
):
    response = as_analyst.get("/compare/", {"m": specs})
    assert response.status_code == status
    html = response.content.decode()
    assert reason in html
    assert figures(response) == []
    # Each model can be taken out again from there.
    assert len(links(response, r"^/compare/")) >= len(specs)


# ------------------------------------------------------------------ the union form
def test_the_form_takes_the_union_and_names_who_uses_an_input(as_analyst, three):
    response = as_analyst.get("/compare/", THREE)
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("age", "sex", "bmi", "bp", "s5", "region"):
        assert f'name="{name}"' in html
    used_by = dict(re.findall(r'data-used-by="(\w+)">(.*?)</div>', html, re.S))
    assert "age" not in used_by and "region" not in used_by  # every model takes them: no note
    assert re.findall(r'class="badge">([^<]+)</span>', used_by["sex"]) == ["clinic@1", "clinic@2"]
    assert re.findall(r'class="badge">([^<]+)</span>', used_by["s5"]) == ["clinic@1", "clinic@2"]
    # The region choices of all models, and the note about who knows which.
    region = re.search(r'<select name="region".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="(\w+)"', region) == ["east", "north", "south", "west"]
    assert "west (only clinic-lite@1)" in html
    assert inline_scripts(response) == []


# ------------------------------------------------------------------ answers and figures
def test_every_model_answers_and_the_curves_overlay(as_analyst, three):
    response = as_analyst.get("/compare/", {**THREE, **ROW})
    drawn = figures(response)
    for fig in drawn:
        go.Figure(fig)
    answer, sensitivity = drawn[0], drawn[1]
    plan = comparison_plan(versions=three)
    expected = comparison_whatif(plan=plan, row=ROW, user=None, source="page")
    # Legends name each model by its title and version.
    assert [t["name"] for t in answer["data"]] == ["Clinic v1", "Clinic v2", "Clinic Lite v1"]
    assert answer["data"][0]["x"] == ["no", "yes"]
    for trace, a in zip(answer["data"], expected.answers, strict=True):
        assert trace["y"] == [a.predictions[0]["probabilities"][c] for c in ("no", "yes")]
    # One panel per input; the three models overlay in each panel they take part in.
    by_panel: dict[str, list[str]] = {}
    curves = [t for t in sensitivity["data"] if t.get("meta") != "current"]
    for trace in curves:
        by_panel.setdefault(trace["xaxis"], []).append(trace["name"])
    assert len(by_panel) == 6
    assert by_panel["x"] == ["Clinic v1", "Clinic v2", "Clinic Lite v1"]  # age
    assert by_panel["x2"] == ["Clinic v1", "Clinic v2"]  # sex: lite does not take it
    age = [t for t in curves if t["xaxis"] == "x"]
    assert age[0]["x"] == age[1]["x"] == age[2]["x"]  # the same x values for every model
    assert not Prediction.objects.exists()  # a question, not a decision


def test_the_url_reproduces_the_set_and_the_inputs(as_analyst, three):
    first = as_analyst.get("/compare/", {**THREE, **ROW, "age": "70", "region": "south"})
    html = first.content.decode()
    form = re.search(r'<form class="card inputs" id="compare-form".*?</form>', html, re.S).group(0)
    assert re.findall(r'<input type="hidden" name="m" value="([^"]+)">', form) == THREE["m"]
    assert 'name="age" value="70"' in form
    assert '<option value="south" selected>' in form
    # The same address, fetched again, draws the same answers.
    again = as_analyst.get("/compare/", {**THREE, **ROW, "age": "70", "region": "south"})
    assert figures(again)[:2] == figures(first)[:2]
    # ...and another input gives other answers.
    other = as_analyst.get("/compare/", {**THREE, **ROW, "age": "30", "bmi": "40"})
    assert figures(other)[0] != figures(first)[0]


def redraw(client, params) -> dict:
    """What the page's script asks for as an input changes."""
    response = client.get("/compare/", {**params, "format": "json", "columns": "1"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_a_redraw_answers_as_json_with_the_figures_and_each_input_s_notes(as_analyst, three):
    body = redraw(as_analyst, {**THREE, **ROW, "age": "75"})
    assert body["answered"] is True
    assert "<html" not in body["answer"] and "On the reference data" not in body["answer"]
    assert body["answer"].count("data-answer=") == 3
    assert set(body["figures"]) == {"answer", "sensitivity"}
    # The page's width: one column of panels on a phone.
    assert body["figures"]["sensitivity"]["layout"]["xaxis"]["domain"] == [0, 1]
    # Next to its field: only clinic-lite was trained on patients up to 60.
    assert body["fields"]["age"]["warning"].startswith(
        "clinic-lite@1: 75 is outside the training range"
    )
    # The same inputs as a page draw the same figures.
    page = as_analyst.get("/compare/", {**THREE, **ROW, "age": "75", "columns": "1"})
    assert figures(page)[:2] == [body["figures"]["answer"], body["figures"]["sensitivity"]]


def test_a_bad_input_is_shown_next_to_its_field_naming_the_model(as_analyst, three):
    params = {**THREE, **ROW, "region": "west", "bmi": "abc"}
    response = as_analyst.get("/compare/", params)
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="err-bmi"[^>]*>Enter a number\.', html)
    assert "clinic@1, clinic@2: Select a valid choice. &#x27;west&#x27; is not one of" in html
    # No answers; the reference section below does not depend on the form.
    assert "Metrics on these rows" in html and "Each model&#x27;s answer" not in html
    body = redraw(as_analyst, params)
    assert body["answered"] is False
    assert body["figures"] == {"answer": None, "sensitivity": None}
    assert body["fields"]["region"]["error"].startswith("clinic@1, clinic@2: ")


# ------------------------------------------------------------------ on the reference data
def test_the_reference_section_compares_the_versions_on_the_same_rows(as_analyst, three):
    response = as_analyst.get("/compare/", {"m": ["clinic@1", "clinic@2"]})
    html = response.content.decode()
    result = comparison_reference(plan=comparison_plan(versions=three[:2]))
    (pair,) = result.pairs
    assert f"<strong>{pair.count}</strong> of {pair.total} rows" in html
    titles = [f["layout"].get("title", {}).get("text") for f in figures(response)]
    # No bar chart repeating the metrics table.
    assert titles[2:] == ["ROC curves", "Precision and recall", "Clinic v1 against Clinic v2"]
    matrix = figures(response)[-1]["data"][0]["z"]
    assert matrix == pair.matrix
    assert sum(matrix[0][1:]) + matrix[1][0] == pair.count
    accuracy = re.search(r"<th>Accuracy</th>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r'class="num">([^<]+)</td>', accuracy) == [
        f"{result.metrics[label]['accuracy']:.3g}" for label in ("clinic@1", "clinic@2")
    ]


def test_a_row_where_they_disagree_opens_prefilled_in_the_whatif_page(
    as_analyst, three, clinic_version
):
    response = as_analyst.get("/compare/", {"m": ["clinic@1", "clinic@2"]})
    pair = comparison_reference(plan=comparison_plan(versions=three[:2])).pairs[0]
    row = pair.rows[0]
    whatif = links(response, r"^/models/clinic/whatif/\?")[0]
    params = {k: v[0] for k, v in query(whatif).items()}
    assert params == {**{k: str(v) for k, v in row["inputs"].items()}, "version": "1"}
    page = as_analyst.get(whatif)
    assert page.status_code == 200
    assert f'value="{row["inputs"]["bmi"]}"' in page.content.decode()
    # ...or in this comparison, with the same models.
    here = links(response, r"^/compare/\?m=clinic%401&m=clinic%402&age=")[0]
    assert query(here)["bmi"] == [str(row["inputs"]["bmi"])]
    assert as_analyst.get(here).status_code == 200


@pytest.fixture
def diabetes_v2(diabetes_version, diabetes_frame):
    X, y = diabetes_frame.drop(columns="progression"), diabetes_frame["progression"]
    tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, y)
    return model_version_register(
        name="diabetes",
        artifact=sio.dumps(tree),
        reference=csv_bytes(diabetes_frame),
        target="progression",
    )


def test_regressors_are_compared_by_values_residuals_and_a_scatter(as_analyst, diabetes_v2):
    response = as_analyst.get(
        "/compare/", {"m": ["diabetes@1", "diabetes@2"], "age": "50", "bmi": "30", "bp": "90"}
    )
    assert response.status_code == 200
    drawn = figures(response)
    for fig in drawn:
        go.Figure(fig)
    titles = [f["layout"].get("title", {}).get("text") for f in drawn]
    assert titles == [
        "Predicted progression by model",
        None,  # the sensitivity panels name themselves
        "Predicted vs. actual",
        "Residuals (actual − predicted)",
        "Diabetes v2 against Diabetes v1",
    ]
    assert drawn[0]["data"][0]["y"] == ["Diabetes v1", "Diabetes v2"]
    assert "The 20 rows where they differ most" in response.content.decode()


# ------------------------------------------------------------------ ways in
def test_the_catalog_and_the_model_card_add_to_the_current_set(as_analyst, three):
    catalog = as_analyst.get("/models/", {"m": "clinic@2"})
    add = links(catalog, r"^/compare/\?")
    assert sorted(query(a)["add"][0] for a in add) == ["clinic-lite@1", "clinic@1"]
    assert all(query(a)["m"] == ["clinic@2"] for a in add)
    lite = next(a for a in add if query(a)["add"] == ["clinic-lite@1"])
    assert as_analyst.get(lite)["Location"] == "/compare/?m=clinic%402&m=clinic-lite%401"
    # The model card of v1 offers v2 "with v1", and diffs the two.
    card = as_analyst.get("/models/clinic/", {"version": "1"})
    add = links(card, r"^/compare/\?")
    assert [query(a)["add"] for a in add] == [["clinic@1", "clinic@2"], ["clinic@1"]]
    assert links(card, r"^/models/clinic/diff/") == ["/models/clinic/diff/?a=1&b=2"]
    assert as_analyst.get(add[0], follow=True).status_code == 200


def test_add_to_comparison_adds_to_the_set_being_built(as_analyst, three):
    """A tile's or a card's link adds to the comparison on screen before, never replaces it;
    the picker offers only the versions of that task not chosen yet."""
    as_analyst.get("/compare/", {"m": "clinic@1"})  # the set so far, left for the catalog
    first = as_analyst.get("/compare/", {"add": "clinic@2"})
    assert first["Location"] == "/compare/?m=clinic%401&m=clinic%402"
    page = as_analyst.get(first["Location"])
    again = as_analyst.get("/compare/", {"add": "clinic-lite@1"})
    assert again["Location"] == "/compare/?m=clinic%401&m=clinic%402&m=clinic-lite%401"
    # Adding one already there changes nothing.
    as_analyst.get(again["Location"])
    assert as_analyst.get("/compare/", {"add": "clinic@2"})["Location"] == again["Location"]
    picker = re.search(r'<select id="add-model".*?</select>', page.content.decode(), re.S)
    assert re.findall(r'<option value="([^"]+)"', picker.group(0)) == ["clinic-lite@1"]


def test_a_model_of_another_task_starts_a_new_comparison(as_analyst, three, diabetes_version):
    as_analyst.get("/compare/", {"m": ["clinic@1", "clinic@2"]})
    response = as_analyst.get("/compare/", {"add": "diabetes@1"})
    assert response["Location"] == "/compare/?m=diabetes%401"
    page = as_analyst.get(response["Location"])
    assert "the models chosen before do another task" in page.content.decode()
    # Classifiers cannot join a regressor, and diabetes has no other version here.
    assert 'id="add-model"' not in page.content.decode()
    assert "No other model or version of this task is registered." in page.content.decode()


def test_a_value_a_model_cannot_take_is_said_naming_the_model(as_analyst, three):
    params = {**THREE, **ROW, "bmi": "1e308"}
    body = redraw(as_analyst, params)
    assert re.search(
        r'class="notice error" role="alert">clinic@1: [^<]*could not answer', body["answer"]
    )
    assert body["answered"] is False and body["figures"]["answer"] is None
    assert not Prediction.objects.exists()
