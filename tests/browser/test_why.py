"""Why, in a real browser: a stored answer's permalink explains it, and a manager sets what
can change on the model card."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from registry.models import ModelVersion
from registry.predict.services import prediction_run
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

ROW = {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93.0, "s5": 4.6, "region": "north"}


def test_the_permalink_shows_why_with_a_waterfall(page, make_browser_user, clinic, snap):
    user = make_browser_user("ana")
    stored = prediction_run(version=clinic, rows=[ROW], user=user, source="page").prediction
    log_in(page, "ana")
    page.goto(f"/predictions/{stored.id}/")
    why = page.get_by_role("region", name="Why this answer")
    # The positive class, whatever the answer: the class the page's curves follow too.
    expect(why.locator("[data-explanation-summary]")).to_contain_text("yes (")
    expect(why.locator("[data-explanation-summary]")).to_contain_text(
        re.compile("mainly because|spread over many inputs")
    )
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


def test_applying_what_it_would_take_gets_the_target(page, make_browser_user, clinic, snap):
    make_browser_user("ana")
    log_in(page, "ana")
    start = "age=30&sex=female&bmi=21&bp=80&s5=4&region=north"
    page.goto(f"/models/clinic/whatif/?{start}")
    answer = page.locator("[data-answer-box] [data-answer]")
    expect(answer).to_contain_text("no")
    # Why: the sentence and the waterfall sit beside the answer, of the class the curves
    # follow (the positive one), whatever the answer.
    expect(page.locator("[data-explanation-summary]")).to_contain_text("yes (")
    expect(page.locator('figure[data-figure="why"] .main-svg').first).to_be_visible()
    panel = page.get_by_role("region", name="What would it take?")
    expect(panel).to_contain_text("ahead of every other class's by at least 5 points")
    panel.get_by_label("To get").select_option("yes")
    panel.get_by_role("checkbox", name="Sex").check()
    panel.get_by_role("button", name="Find changes").click()
    first = panel.locator("[data-cf-list] li").first
    expect(first).to_contain_text("change ")
    expect(first).not_to_contain_text("sex")
    snap(page, "counterfactuals")
    first.get_by_role("button", name="Apply").click()
    expect(answer).to_contain_text("yes")
    expect(page.locator("[data-whatif]")).to_have_attribute("data-state", "fresh")
    expect(page.locator("#in-sex")).to_have_value("female")
    # The suggestions are searched again from the new inputs: the target is reached, clearly.
    message = panel.locator("[data-cf-message]")
    expect(message).to_contain_text("Applied: change ")
    expect(message).to_contain_text(
        "The answer is already yes, ahead of every other class by at least 5 points."
    )
    expect(panel.locator("[data-cf-list] li")).to_have_count(0)
    snap(page, "applied")


def test_suggestions_for_other_inputs_are_marked_out_of_date(page, make_browser_user, clinic):
    make_browser_user("ana")
    log_in(page, "ana")
    page.goto("/models/clinic/whatif/?age=30&sex=female&bmi=21&bp=80&s5=4&region=north")
    panel = page.get_by_role("region", name="What would it take?")
    panel.get_by_label("To get").select_option("yes")
    panel.get_by_role("button", name="Find changes").click()
    first = panel.locator("[data-cf-list] li").first
    expect(first).to_contain_text("change ")
    page.locator("#in-age").fill("41")
    expect(panel.locator("[data-cf-message]")).to_have_text(
        "The inputs changed since these suggestions were found: find changes again."
    )
    expect(first.get_by_role("button", name="Apply")).to_be_disabled()
