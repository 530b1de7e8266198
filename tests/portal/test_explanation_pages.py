"""The permalink explains its stored answer; a manager sets what can change on the card."""

import re

import pytest

from registry.explain.selectors import counterfactual_search
from registry.models import AuditEvent, ModelVersion
from registry.predict.services import prediction_run
from tests.portal.test_pages import ROW, figures

API_ROW = {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93.0, "s5": 4.6, "region": "north"}


def test_the_permalink_explains_the_stored_answer(as_analyst, analyst, clinic_version):
    p = prediction_run(version=clinic_version, rows=[ROW], user=analyst, source="page").prediction
    html = as_analyst.get(f"/predictions/{p.id}/").content.decode()
    label = "yes"  # the positive class, whatever the answer: the one the curves follow
    percent = round(p.outputs[0]["probabilities"][label] * 100)
    summary = re.search(r"<p data-explanation-summary>(.*?)</p>", html).group(1)
    assert summary.startswith(f"{label} ({percent}%)")
    (waterfall,) = [
        f
        for f in figures(as_analyst.get(f"/predictions/{p.id}/"))
        if f["data"][0]["type"] == "waterfall"
    ]
    trace = waterfall["data"][0]
    assert trace["y"][0] == "Average (baseline)" and trace["y"][-1] == "This answer"
    assert trace["x"][-1] == pytest.approx(p.outputs[0]["probabilities"][label], abs=1e-6)
    assert trace["x"][0] + sum(trace["x"][1:-1]) == pytest.approx(trace["x"][-1], abs=1e-6)


def test_a_several_row_prediction_has_no_explanation(as_analyst, analyst, clinic_version):
    p = prediction_run(
        version=clinic_version, rows=[ROW, ROW], user=analyst, source="api"
    ).prediction
    html = as_analyst.get(f"/predictions/{p.id}/").content.decode()
    assert "Why this answer" not in html


def test_a_manager_sets_what_can_change_without_a_new_version(client, manager, clinic_version):
    client.force_login(manager)
    card = client.get("/models/clinic/").content.decode()
    assert 'name="can-age"' in card and "Save what can change" in card
    response = client.post(
        "/models/clinic/actionability/?version=1",
        {"can-age": "increase", "can-sex": "fixed", "can-bmi": "any"},
    )
    assert response.status_code == 302
    version = ModelVersion.objects.get(pk=clinic_version.pk)
    inputs = {i["name"]: i for i in version.interface["inputs"]}
    assert (inputs["age"]["actionable"], inputs["age"]["direction"]) == (True, "increase")
    assert inputs["sex"]["actionable"] is False
    assert ModelVersion.objects.count() == 1
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACTIONABILITY_SET)
    assert (event.actor, event.version) == (manager, version)
    assert set(event.details["inputs"]) == {"age", "sex"}
    # The next search obeys at once: age never goes down, sex never changes.
    search = counterfactual_search(
        version=version, row={**API_ROW, "age": 60}, target="yes", max_changes=3, count=5
    )
    for answer in search.counterfactuals:
        assert answer["inputs"]["age"] >= 60 and answer["inputs"]["sex"] == "male"
    card = client.get("/models/clinic/").content.decode()
    assert "Actionable inputs changed v1: age, sex" in card


def test_a_bad_choice_changes_nothing(client, manager, clinic_version):
    client.force_login(manager)
    client.post("/models/clinic/actionability/?version=1", {"can-region": "increase"})
    response = client.get("/models/clinic/")
    assert "only numbers and booleans have a direction" in response.content.decode()
    version = ModelVersion.objects.get(pk=clinic_version.pk)
    assert version.interface == clinic_version.interface
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ACTIONABILITY_SET).exists()


def test_only_a_manager_may_set_what_can_change(as_analyst, clinic_version):
    response = as_analyst.post("/models/clinic/actionability/?version=1", {"can-age": "fixed"})
    assert response.status_code == 403
    assert 'name="can-age"' not in as_analyst.get("/models/clinic/").content.decode()


def test_what_would_it_take_asks_for_the_other_answer_by_default(as_analyst, clinic_version):
    html = as_analyst.get("/models/clinic/whatif/").content.decode()
    answered = re.search(r"data-answer>(\w+)", html).group(1)
    picker = html[html.index('id="cf-target"') :]
    picker = picker[: picker.index("</select>")]
    selected = re.search(r'<option value="(\w+)" selected>', picker).group(1)
    assert {answered, selected} == {"yes", "no"}
