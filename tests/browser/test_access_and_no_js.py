"""Roles and the page without JavaScript, in a real browser; and a check that the error
watchers of conftest.py do see console errors and CSP violations (else "none occurred"
would prove nothing)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BrowserLog, log_in

pytestmark = pytest.mark.browser


def test_a_viewer_gets_the_403_page_on_whatif(page, browser_log, make_browser_user, clinic):
    make_browser_user("vic", role="viewer")
    log_in(page, "vic")
    # Chromium logs every 4xx document as a console error; this one is the point of the test.
    browser_log.allow(r"status of 403")
    response = page.goto("/models/clinic/whatif/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You can't open this page")
    expect(page.locator("main")).to_contain_text("This page needs the analyst role.")
    # The model card stays open to a viewer, without the way to the what-if page.
    page.goto("/models/clinic/")
    page.wait_for_selector("figure.plot.is-drawn")
    expect(page.get_by_role("link", name=re.compile("^Try version"))).to_have_count(0)


def test_the_whatif_page_works_without_javascript(open_page, make_browser_user, clinic):
    make_browser_user("ana")
    page = open_page(java_script_enabled=False)
    log_in(page, "ana")
    page.goto("/models/clinic/whatif/")
    answer = page.locator("#result [data-answer]")
    first = answer.inner_text()
    assert first.startswith(("yes", "no"))
    # The figures (the answer, why, how it moves) are there to draw, but nothing draws them:
    # that is expected without JS.
    expect(page.locator("#result figure.plot:not([hidden])")).to_have_count(3)
    expect(page.locator("figure.plot.is-drawn")).to_have_count(0)

    page.fill("#in-bmi", "38")
    page.select_option("#in-region", "east")
    page.get_by_role("button", name="Update answer").click()
    page.wait_for_url(re.compile(r"bmi=38"))
    query = parse_qs(urlparse(page.url).query)
    assert query["bmi"] == ["38"] and query["region"] == ["east"]
    assert page.input_value("#in-bmi") == "38"
    assert answer.inner_text() != first, "submitting the form did not change the answer"

    # Out of the training range: the warning is next to the field, rendered by the server.
    page.fill("#in-bmi", "60")
    page.get_by_role("button", name="Update answer").click()
    page.wait_for_url(re.compile(r"bmi=60"))
    expect(page.locator("#warn-bmi")).to_contain_text("outside the training range")

    # Saving needs no JavaScript either.
    saved = answer.inner_text()
    page.fill("#scenario-name", "Without JavaScript")
    page.get_by_role("button", name="Save scenario").click()
    page.wait_for_url(re.compile(r"/predictions/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Without JavaScript")
    assert saved.startswith(page.inner_text("[data-answer]"))


def test_the_watchers_see_console_errors_and_csp_violations(open_page, make_browser_user):
    make_browser_user("ana")
    log = BrowserLog()
    page = open_page(log)
    log_in(page, "ana")
    page.wait_for_selector("main")
    # An inline script, as an injected or careless template would add: the policy blocks it.
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.__ran = true";
            document.body.appendChild(s);
        }"""
    )
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.__ran") is None  # blocked
    page.evaluate("console.error('a test error')")
    with page.expect_event("pageerror"):
        page.evaluate("setTimeout(() => { throw new Error('a test exception'); })")
    page.reload()  # the violation outlives its page: it was reported to the test
    assert [v["directive"] for v in log.csp] == ["script-src-elem"]
    # Chromium words it "Executing inline script violates the following Content Security
    # Policy directive" (older versions: "Refused to execute inline script").
    assert any("Content Security Policy" in m for m in log.console)
    assert any("a test error" in m for m in log.console)
    assert any("a test exception" in m for m in log.page_errors)
    assert len(log.problems()) == 4
    # Forgive them, so the fixture's own check (nothing went wrong) passes.
    log.console.clear()
    log.page_errors.clear()
    log.csp.clear()


def test_the_login_page_downloads_no_plotly_and_the_dashboard_does(page, make_browser_user, clinic):
    """plotly.js (over a megabyte) is fetched only by pages that draw a graph."""
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto("/accounts/login/")
    page.wait_for_load_state("networkidle")
    assert fetched and not [u for u in fetched if "plotly" in u]
    make_browser_user("ana", role="analyst")
    log_in(page, "ana")
    page.wait_for_selector("figure.plot.is-drawn")
    assert [u for u in fetched if "plotly" in u]
