"""Every kind of page fits a 390 px phone: nothing wider than the screen, so no sideways
panning (a wide table scrolls inside its own frame, the page does not)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from registry.catalog.selectors import model_version_resolve
from registry.demo import diabetes
from registry.predict.services import prediction_run
from tests.browser.conftest import log_in
from tests.conftest import csv_bytes

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def fits(page) -> tuple[int, int]:
    return tuple(page.evaluate("[document.documentElement.scrollWidth, innerWidth]"))


def test_every_page_type_fits_a_phone(open_page, demo_models, make_browser_user, snap):
    user = make_browser_user("mia", "manager")
    version = model_version_resolve(name="breast-cancer")
    row = {f["name"]: f["default"] for f in version.interface["inputs"]}
    stored = prediction_run(version=version, rows=[row], user=user, source="page").prediction
    # Not is_mobile: a mobile layout viewport grows to the content, hiding the overflow.
    page = open_page(viewport=PHONE)
    log_in(page, "mia")
    # A batch job of the diabetes model, one of its rows far out.
    rows = diabetes().reference.drop(columns="progression").head(40).copy()
    rows.loc[3, "bmi"] = 80.0
    page.goto("/models/diabetes/batch/")
    page.set_input_files(
        "#file", files=[{"name": "rows.csv", "mimeType": "text/csv", "buffer": csv_bytes(rows)}]
    )
    page.get_by_role("button", name="Upload and score").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    job = page.url.split("/jobs/")[1]
    pages = {
        "dashboard": "/",
        "catalog": "/models/",
        "model card (30 inputs)": "/models/breast-cancer/",
        "model card (wine)": "/models/wine/",
        "monitoring": "/models/diabetes/monitor/",
        "what-if": "/models/breast-cancer/whatif/",
        "compare": "/compare/?m=diabetes%401&m=diabetes%402",
        "version diff": "/models/breast-cancer/diff/?a=1&b=2",
        "batch": "/models/diabetes/batch/",
        "job": f"/jobs/{job}",
        "predictions": "/predictions/",
        "prediction detail": f"/predictions/{stored.id}/",
        "embed": f"/embed/predictions/{stored.id}/",
        "profile": "/profile/",
    }
    wide = {}
    for name, url in pages.items():
        page.goto(url)
        expect(page.locator("body")).to_be_visible()
        page.wait_for_load_state("networkidle")
        scroll, inner = fits(page)
        if scroll > inner:
            wide[name] = scroll
            snap(page, re.sub(r"\W+", "-", name))
    assert wide == {}, f"wider than the {PHONE['width']} px screen: {wide}"
    # Monitoring's verdict comes first, above the pickers, and fits the screen.
    page.goto("/models/diabetes/monitor/")
    verdict = page.locator("#verdict-heading")
    expect(verdict).not_to_be_empty()
    box = verdict.bounding_box()
    assert box["x"] + box["width"] <= PHONE["width"]
    assert box["y"] < page.locator(".monitor-pickers").bounding_box()["y"]
