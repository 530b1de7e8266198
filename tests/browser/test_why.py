"""Why, in a real browser: a stored answer's permalink explains it, and a manager sets what
can change on the model card."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from registry.models import ModelVersion
from registry.services import model_version_register, prediction_run
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

ROW = {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93.0, "s5": 4.6, "region": "north"}


@pytest.fixture
def clinic(browser_db, clinic_forest_bytes, clinic_csv):
    return model_version_register(
        name="clinic",
        artifact=clinic_forest_bytes,
        reference=clinic_csv,
        target="high_risk",
        alias="champion",
    )


def test_the_permalink_shows_why_with_a_waterfall(page, make_browser_user, clinic, snap):
    user = make_browser_user("ana")
    stored = prediction_run(version=clinic, rows=[ROW], user=user, source="page").prediction
    label = stored.outputs[0]["label"]
    log_in(page, "ana")
    page.goto(f"/predictions/{stored.id}/")
    why = page.get_by_role("region", name="Why this answer")
    expect(why.locator("[data-explanation-summary]")).to_contain_text(f"{label} (")
    expect(why.locator("[data-explanation-summary]")).to_contain_text("because")
    # The waterfall is drawn: its first bar is the average, its last this answer.
    chart = why.get_by_role("img", name="How far each input pushed the answer from the average")
    expect(chart.locator(".main-svg").first).to_be_visible()
    expect(chart).to_contain_text("Average (baseline)")
    expect(chart).to_contain_text("This answer")
    snap(page, "permalink")


def test_a_manager_marks_an_input_only_up_and_it_is_kept(page, make_browser_user, clinic):
    make_browser_user("mia", role="manager")
    log_in(page, "mia")
    page.goto("/models/clinic/")
    page.get_by_label("Can Age change?").select_option("increase")
    page.get_by_label("Can Sex change?").select_option("fixed")
    page.get_by_role("button", name="Save what can change").click()
    expect(page.locator("main")).to_contain_text("no new version")
    expect(page.get_by_label("Can Age change?")).to_have_value("increase")
    expect(page.get_by_label("Can Sex change?")).to_have_value("fixed")
    expect(page.locator("main")).to_contain_text("Actionable inputs changed v1: age, sex")
    inputs = {i["name"]: i for i in ModelVersion.objects.get().interface["inputs"]}
    assert inputs["age"]["direction"] == "increase" and inputs["sex"]["actionable"] is False
