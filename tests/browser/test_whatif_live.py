"""The what-if page redraws in place (issue 9): any typed number is answered, an answer that
does not match the inputs says so, the curves hold their class, the page does not jump, and
on a phone the answer stays in view. On the demo models, as ``seed_demo`` registers them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.test_whatif_journey import (
    assert_no_reload,
    figure_data,
    mark_no_reload,
    wait_drawn,
    wait_settled,
    wait_url_value,
)

pytestmark = pytest.mark.browser

ANSWER_TEXT = "#result [data-answer]"
STALE = "#result .stale-note"
SENSITIVITY = "figure[data-figure=sensitivity] .plot-canvas"


@pytest.fixture
def analyst(make_browser_user, demo_models) -> None:
    make_browser_user("ana")


def open_whatif(page: Any, model: str, query: str = "") -> str:
    log_in(page, "ana")
    page.goto(f"/models/{model}/whatif/{query}")
    drawn = wait_drawn(page)
    mark_no_reload(page)
    return drawn


def curves_title(page: Any) -> str:
    """The value axis of the sensitivity panels: which class's probability they show."""
    return page.locator(SENSITIVITY).evaluate("(c) => c.layout.yaxis.title.text")


def why_title(page: Any) -> str:
    """The waterfall's title as drawn: which answer it explains."""
    return page.locator("figure[data-figure=why] .gtitle").text_content()


def one_class_on_screen(page: Any, wanted: str) -> None:
    """The curves, the waterfall and the sentence beside it all speak of ``wanted``."""
    assert curves_title(page) == f"P({wanted})"
    assert why_title(page) == f"Why: probability of {wanted}"
    expect(page.locator("[data-explanation-summary]")).to_contain_text(f"{wanted} (")


def test_a_value_between_slider_steps_is_answered_at_once(page, analyst):
    before = open_whatif(page, "diabetes")
    answer = page.inner_text(ANSWER_TEXT)
    page.fill("#in-bmi", "33.93")  # the slider's step is 0.1: the box takes any number
    wait_url_value(page, "bmi", "33.93")
    after = wait_settled(page)
    assert after != before and page.inner_text(ANSWER_TEXT) != answer
    expect(page.locator("#err-bmi")).to_have_text("")
    expect(page.locator(STALE)).to_be_hidden()
    # The slider followed as near as its step allows.
    slider = page.locator('input[type=range][data-for="in-bmi"]')
    assert float(slider.input_value()) == pytest.approx(33.9, abs=0.06)
    assert_no_reload(page)


def test_inputs_that_cannot_be_answered_say_why_and_the_answer_is_marked(page, analyst):
    open_whatif(page, "diabetes")
    page.fill("#in-bmi", "")
    # The reason is next to the input and the answer on screen says it is not theirs.
    expect(page.locator("#err-bmi")).to_have_text("This field is required.")
    expect(page.locator(STALE)).to_be_visible()
    expect(page.locator(STALE)).to_contain_text("Not the answer to these inputs")
    # A valid number again: answered, and the marks go away.
    page.fill("#in-bmi", "30")
    wait_settled(page)
    expect(page.locator("#err-bmi")).to_have_text("")
    expect(page.locator(STALE)).to_be_hidden()
    expect(page.locator(ANSWER_TEXT)).to_be_visible()


def test_the_curves_keep_their_class_when_the_answer_crosses_the_boundary(page, analyst):
    open_whatif(page, "breast-cancer", "?worst_radius=10")
    expect(page.locator(ANSWER_TEXT)).to_contain_text("benign")
    # The positive class by default, for the curves and the explanation alike (before, the
    # waterfall explained the answer's class while the curves followed the other).
    one_class_on_screen(page, "malignant")
    curves = figure_data(page, "figure[data-figure=sensitivity]")

    page.fill("#in-worst_radius", "30")
    expect(page.locator(ANSWER_TEXT)).to_contain_text("malignant")
    wait_settled(page)
    assert curves_title(page) == "P(malignant)"
    assert figure_data(page, "figure[data-figure=sensitivity]") != curves

    # The other class, picked: it stays picked across the boundary, and in the URL.
    page.select_option("#focus", "benign")
    wait_url_value(page, "focus", "benign")
    wait_settled(page)
    one_class_on_screen(page, "benign")
    page.fill("#in-worst_radius", "10")
    expect(page.locator(ANSWER_TEXT)).to_contain_text("benign")
    wait_settled(page)
    one_class_on_screen(page, "benign")
    assert_no_reload(page)


def test_a_category_change_redraws_the_graphs(page, analyst):
    open_whatif(page, "diabetes", "?sex=female")
    answer = page.inner_text(ANSWER_TEXT)
    curves = figure_data(page, "figure[data-figure=sensitivity]")
    why = figure_data(page, "figure[data-figure=why]")
    band = "(c) => c.layout.shapes.filter((s) => s.type === 'rect').map((s) => s.x0)"
    before = page.locator(SENSITIVITY).evaluate(band)
    page.select_option("#in-sex", "male")
    wait_url_value(page, "sex", "male")
    wait_settled(page)
    expect(page.locator(STALE)).to_be_hidden()
    assert page.inner_text(ANSWER_TEXT) != answer
    assert figure_data(page, "figure[data-figure=sensitivity]") != curves
    assert figure_data(page, "figure[data-figure=why]") != why
    # The band behind the sex panel's bars moved to the other bar.
    after = page.locator(SENSITIVITY).evaluate(band)
    assert len(after) == 1 and after != before
    assert_no_reload(page)


def test_a_redraw_keeps_the_page_where_it_is(page, analyst):
    open_whatif(page, "diabetes")
    page.evaluate("window.scrollTo(0, 700)")
    page.wait_for_function("window.scrollY === 700")
    height = page.evaluate("document.documentElement.scrollHeight")
    before = figure_data(page, "figure[data-figure=sensitivity]")
    # The inputs stay in view beside the graphs (their column is sticky); change one.
    page.fill("#in-bmi", "38")
    wait_settled(page)
    assert figure_data(page, "figure[data-figure=sensitivity]") != before
    assert page.evaluate("window.scrollY") == 700
    assert page.evaluate("document.documentElement.scrollHeight") == height


def test_on_a_phone_the_answer_stays_in_view(open_page, analyst):
    page = open_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    open_whatif(page, "diabetes")
    bar = page.locator(".answer-bar [data-answer-bar]")
    first = page.locator("#whatif-form input[type=number]").first
    first.scroll_into_view_if_needed()
    before = bar.inner_text()
    first.fill("70")
    wait_settled(page)
    expect(bar).to_be_in_viewport()
    assert bar.inner_text() != before
    assert bar.inner_text() == " ".join(page.inner_text(ANSWER_TEXT).split())
    # Far down the inputs too: the bar sticks to the top of the screen.
    last = page.locator("#whatif-form input[type=number]").last
    last.scroll_into_view_if_needed()
    before = bar.inner_text()
    last.fill(str(float(last.input_value()) * 1.3))
    wait_settled(page)
    expect(bar).to_be_in_viewport()
    assert bar.inner_text() != before
    # One column of small multiples, and no toolbar over the figures' titles.
    domain = page.locator(SENSITIVITY).evaluate("(c) => c.layout.xaxis.domain")
    assert domain == [0, 1]
    expect(page.locator(".modebar")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
