"""Comparing models in a real browser: pick three versions, move one input and see all three
answers redraw in place; then make another version the champion through the confirmation
page and see the catalog say so."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import skops.io as sio
from playwright.sync_api import expect
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from registry.catalog.services import model_version_register
from tests.browser.conftest import log_in
from tests.browser.test_whatif_journey import (
    ANSWER,
    assert_no_reload,
    mark_no_reload,
    url_value,
    wait_drawn,
    wait_redraw,
    wait_settled,
    wait_url_value,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def clinic_shallow(clinic_frame):
    """A third estimator for the clinic interface: a shallower, smaller forest."""
    X, y = clinic_frame.drop(columns="high_risk"), clinic_frame["high_risk"]
    return make_pipeline(
        ColumnTransformer(
            [
                ("scale", StandardScaler(), ["age", "bmi", "bp", "s5"]),
                ("onehot", OneHotEncoder(handle_unknown="ignore"), ["sex", "region"]),
            ]
        ),
        RandomForestClassifier(n_estimators=10, max_depth=2, random_state=1),
    ).fit(X, y)


@pytest.fixture
def three_versions(
    make_browser_user,
    clinic_forest_bytes,
    clinic_csv,
    clinic_logistic,
    clinic_shallow,
):
    """clinic v1 (champion), v2 and v3, registered through the real service; a manager."""
    for artifact, alias in (
        (clinic_forest_bytes, "champion"),
        (sio.dumps(clinic_logistic), None),
        (sio.dumps(clinic_shallow), None),
    ):
        model_version_register(
            name="clinic", artifact=artifact, reference=clinic_csv, target="high_risk", alias=alias
        )
    make_browser_user("mia", "manager")


def traces(page: Any) -> dict[str, list[float]]:
    """The answer figure's bars: each model's class probabilities, as drawn."""
    data = json.loads(
        page.locator(f"{ANSWER} .plot-canvas").first.evaluate(
            "(c) => JSON.stringify(c.data.map((t) => [t.name, t.y]))"
        )
    )
    return dict(data)


def add_version(page: Any, spec: str) -> None:
    page.select_option("#add-model", spec)
    page.get_by_role("button", name="Add to comparison").click()
    page.wait_for_url(re.compile(rf"m={re.escape(spec.replace('@', '%40'))}"))


def test_three_versions_redraw_together_and_a_new_champion_shows_in_the_catalog(
    page, three_versions, snap
):
    log_in(page, "mia")
    # From the catalog: "Add to comparison" starts the set with the champion.
    page.goto("/models/")
    tile = page.locator("article.model-card", has=page.get_by_role("link", name="Clinic"))
    tile.get_by_role("link", name="Add to comparison").click()
    page.wait_for_url("**/compare/?m=clinic%401")
    expect(page.locator(".notice")).to_contain_text("Add at least one more model")
    add_version(page, "clinic@2")
    add_version(page, "clinic@3")
    expect(page.locator("tr[data-member]")).to_have_count(3)
    before_drawn = wait_drawn(page)
    before = traces(page)
    assert list(before) == ["Clinic v1", "Clinic v2", "Clinic v3"]
    expect(page.locator("#result [data-answer]")).to_have_count(3)
    page.wait_for_function(
        "[...document.querySelectorAll('figure.plot')].every(f => f.classList.contains('is-drawn'))"
    )
    snap(page, "three-versions")
    mark_no_reload(page)

    # Move one input: the bmi slider to the top of its range, from the keyboard.
    slider = page.locator('input[type=range][data-for="in-bmi"]')
    top = slider.get_attribute("max")
    slider.focus()
    slider.press("End")
    assert float(page.input_value("#in-bmi")) == pytest.approx(float(top))
    wait_url_value(page, "bmi", page.input_value("#in-bmi"))
    wait_redraw(page, before_drawn)
    after = traces(page)
    assert_no_reload(page)
    assert list(after) == list(before)
    for name in before:
        assert after[name] != before[name], f"{name}'s answer did not redraw"
    # The sensitivity panels overlay all three models.
    names = (
        page.locator("#result figure.plot .plot-canvas")
        .nth(1)
        .evaluate(
            "(c) => [...new Set(c.data.filter((t) => t.meta !== 'current').map((t) => t.name))]"
        )
    )
    assert names == ["Clinic v1", "Clinic v2", "Clinic v3"]
    assert url_value(page, "bmi") == page.input_value("#in-bmi")
    snap(page, "moved-bmi")

    # Make version 2 the champion: the confirmation says what changes, then back here.
    row = page.locator('tr[data-member="clinic@2"]')
    row.get_by_role("link", name="Make champion").click()
    page.wait_for_url(re.compile(r"/models/clinic/aliases/champion/\?version=2"))
    expect(page.locator("[data-change]")).to_have_text(
        "champion moves from v1 to v2; predictions that name no version will use v2 from the "
        "next request."
    )
    snap(page, "confirm")
    page.get_by_role("button", name="Make v2 champion").click()
    page.wait_for_url(re.compile(r"/compare/\?m=clinic%401&m=clinic%402&m=clinic%403"))
    expect(page.locator(".messages")).to_contain_text("clinic@champion now points at v2")
    expect(page.locator('tr[data-member="clinic@2"] .badge.alias')).to_have_text("champion")

    # The catalog says so.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Models").click()
    page.wait_for_url("**/models/")
    tile = page.locator("article.model-card", has=page.get_by_role("link", name="Clinic"))
    expect(tile.locator(".facts")).to_contain_text("Champion")
    expect(tile.locator(".facts dd").first).to_have_text("version 2")
    # ...and the model card's history records who did it.
    tile.get_by_role("link", name="Model card").click()
    history = page.locator("h2:has-text('History') + .card")
    expect(history).to_contain_text("mia")
    expect(history).to_contain_text("champion from v1 to v2")


def test_on_a_phone_compare_is_one_column_and_redraws_in_place(
    open_page, make_browser_user, demo_models, snap
):
    """At 390 px the inputs, the answers and the panels stack in one column (before: three
    columns of panels, titles overlapping, the answer cut); a category picked in a select
    redraws every model's answer and curves without a page load, as on the what-if page."""
    make_browser_user("ana")
    page = open_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    log_in(page, "ana")
    page.goto("/compare/?m=diabetes@1&m=diabetes@2&sex=female")
    drawn = wait_settled(page)
    mark_no_reload(page)
    snap(page, "phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # One column: the answers come below the inputs, each as wide as the screen allows.
    form, result = (
        page.locator(selector).bounding_box() for selector in ("#compare-form", "#result")
    )
    assert result["y"] >= form["y"] + form["height"]
    assert result["x"] == pytest.approx(form["x"], abs=1)
    sensitivity = page.locator("figure[data-figure=sensitivity] .plot-canvas")
    assert sensitivity.evaluate("(c) => c.layout.xaxis.domain") == [0, 1]
    assert sensitivity.evaluate("(c) => c.layout.xaxis2.domain") == [0, 1]
    answers = page.locator("#result [data-answer]").all_inner_texts()

    page.select_option("#in-sex", "male")
    wait_url_value(page, "sex", "male")
    after = wait_settled(page)
    assert after != drawn
    assert page.locator("#result [data-answer]").all_inner_texts() != answers
    expect(page.locator("#result .stale-note")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_no_reload(page)
