"""The README frames a shared prediction in a 640x420 iframe: at that size the whole embed
shows, the answer and its graph included, with no scrolling inside the frame."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.web.sharing import share_token
from registry.catalog.selectors import model_version_resolve
from registry.predict.services import prediction_run

pytestmark = pytest.mark.browser

FRAME = {"width": 640, "height": 420}


@pytest.mark.parametrize("model", ["breast-cancer", "diabetes"])
def test_the_embed_fits_the_readme_iframe(open_page, demo_models, make_browser_user, model):
    user = make_browser_user("ana")
    version = model_version_resolve(name=model)
    row = {f["name"]: f["default"] for f in version.interface["inputs"]}
    stored = prediction_run(version=version, rows=[row], user=user, source="page").prediction
    page = open_page(viewport=FRAME)  # no login: the signed link alone, as another site has
    page.goto(f"/embed/predictions/{stored.id}/?s={share_token(stored)}")
    expect(page.locator("[data-answer]")).to_be_visible()
    chart = page.locator(".embed-chart .main-svg").first
    expect(chart).to_be_visible()  # drawn by plots.js
    page.wait_for_load_state("networkidle")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= FRAME["height"], f"the embed is {height} px tall in a 420 px frame"
    box = page.locator(".embed-chart figure").bounding_box()
    assert box["y"] + box["height"] <= FRAME["height"]
    assert page.locator("[data-explanation-summary]").is_visible()
