"""The demo's drifted model in a real browser: its monitoring page puts the shifted input
first and marks it, and draws every figure."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from registry.catalog.selectors import model_version_resolve
from registry.demo import SHIFTED_INPUT, SHIFTED_MODEL, diabetes, traffic_seed
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def drifted_demo(demo_models, make_browser_user) -> None:
    """The demo models with 30 days of the diabetes model's traffic, as ``make run`` seeds."""
    version = model_version_resolve(name=SHIFTED_MODEL)
    traffic_seed(demo=diabetes(), version=version, now=timezone.now(), seed=2)
    make_browser_user("vic", "viewer")


def test_the_drifted_input_comes_first_and_marked(page, drifted_demo, snap):
    log_in(page, "vic")
    page.goto("/models/")
    tile = page.locator("article.model-card", has_text="Diabetes progression")
    # Performance leads: the demo's errors rose in the last week, and its BMI moved.
    expect(tile.locator(".monitor-status")).to_have_text(re.compile(r"^⚠ errors up \d+%$"))
    tile.locator(".monitor-status").click()
    page.wait_for_url(re.compile(rf"/models/{SHIFTED_MODEL}/monitor/"))

    expect(page.locator("#verdict-heading")).to_have_text(
        re.compile(
            r"^Errors up \d+% over the last 7 days \([\d.]+ vs 44\.7\); "
            r"recent BMI higher than in training\.$"
        )
    )
    first_row = page.locator(".drift-table tbody tr").first
    expect(first_row.locator("th")).to_have_text("BMI")  # the interface label of bmi
    expect(first_row.locator(".badge")).to_have_text("higher than in training")
    expect(page.locator(".drift-table tbody tr .badge")).to_have_count(1)

    first_figure = page.locator(".monitor-inputs .input-drift").first
    expect(first_figure).to_have_attribute("data-input", SHIFTED_INPUT)
    expect(first_figure).to_have_class(re.compile(r"\bdrifted\b"))
    expect(first_figure.locator("figure")).to_have_attribute(
        "aria-label", re.compile(r"^⚠ .*drifted")
    )
    # Every figure on the page is drawn (traffic, inputs, answers, drift over time, feedback).
    figures = page.locator("figure.plot")
    expect(figures.first).to_have_class(re.compile(r"\bis-drawn\b"))
    count = figures.count()
    assert count >= 14
    expect(page.locator("figure.plot.is-drawn")).to_have_count(count)
    snap(page, "monitor")


def test_on_a_phone_the_verdict_comes_first_and_legends_clear_the_dates(
    open_page, drifted_demo, snap
):
    page = open_page(viewport={"width": 390, "height": 844})
    log_in(page, "vic")
    page.goto(f"/models/{SHIFTED_MODEL}/monitor/")
    verdict = page.locator("#verdict-heading")
    expect(verdict).to_have_text(re.compile(r"^Errors up"))
    assert verdict.bounding_box()["y"] < page.locator(".monitor-pickers").bounding_box()["y"]
    estimate = page.locator("[data-estimated-performance] figure.plot")
    expect(estimate).to_have_class(re.compile(r"\bis-drawn\b"))
    # The legend and the date ticks do not overlap (plots.js moves a phone's legend below).
    legend = estimate.locator(".legend").bounding_box()
    for tick in estimate.locator(".xtick").all():
        box = tick.bounding_box()
        assert box["y"] + box["height"] <= legend["y"] or legend["y"] + legend["height"] <= box["y"]
    snap(page, "phone")
