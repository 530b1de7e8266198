"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

No browser is ever downloaded: the ``chromium`` package on PATH is passed as
``executable_path``. Where it is missing the tests are skipped with the reason, unless
REQUIRE_BROWSER=1 (set by .ci/run), which turns that into a failure.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core import serializers
from django.core.management import call_command
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection, transaction
from django.test.testcases import LiveServerThread

from tests.conftest import clinic_register

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PASSWORD = "pw-for-browser-tests"
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps calling home, which a closed network answers slowly.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Each browser command waits at most this long (ms); a redraw takes well under a second.
TIMEOUT_MS = 10_000

# Records every securitypolicyviolation on every page (the event is lost with the page, so
# it is also reported to the test through an exposed binding, see ``page`` below).
CSP_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var v = {directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
           line: e.lineNumber, sample: e.sample, page: location.href};
  window.__csp.push(v);
  if (window.__reportCsp) window.__reportCsp(v);
});
"""


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path:
        return path
    reason = "Debian's chromium is not installed (apt-get install chromium); browser tests skipped"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason.split(';')[0]}", pytrace=False)
    pytest.skip(reason)


class Chromium:
    """One Chromium for the run of browser tests, stopped as soon as they are over (see
    ``pytest_runtest_teardown``).

    Playwright's sync API keeps an asyncio event loop running in the main thread (through
    greenlets) for as long as the browser runs. Django sees that running loop and refuses ORM
    calls from this thread (SynchronousOnlyOperation), although the tests only ever call the
    ORM synchronously between browser commands, never from inside a coroutine. So
    DJANGO_ALLOW_ASYNC_UNSAFE, which only turns that check off, is set before the loop
    starts, and put back when it stops: the tests after the browser tests neither inherit
    the loop (``async_to_sync`` would refuse to work) nor the switched-off check.
    """

    def __init__(self) -> None:
        self.playwright: Any = None
        self.browser: Any = None
        self.unsafe_before: str | None = None

    def start(self, executable: str) -> Any:
        if self.browser is None:
            from playwright.sync_api import sync_playwright

            self.unsafe_before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
            self.playwright = sync_playwright().start()
            self.browser = self.playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS
            )
        return self.browser

    def stop(self) -> None:
        if self.browser is not None:
            self.browser.close()
            self.playwright.stop()
            self.browser = self.playwright = None
            if self.unsafe_before is None:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = self.unsafe_before


CHROMIUM = Chromium()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A Playwright browser on Debian's chromium, launched once for the session."""
    yield CHROMIUM.start(chromium_path())
    CHROMIUM.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After the last browser test (pytest-django runs live-server tests together), stop
    Chromium rather than at the end of the session; the test's own teardown comes first."""
    result = yield
    items = item.session.items
    later = items[items.index(item) + 1 :] if item in items else []
    if not any(i.get_closest_marker("browser") for i in later):
        CHROMIUM.stop()
    return result


@dataclass
class BrowserLog:
    """What went wrong in the browser during one test: console errors, uncaught page errors
    and CSP violations. A test that expects an error (a 403 page) allows it by pattern."""

    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp: list[dict[str, Any]] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def problems(self) -> list[str]:
        console = [m for m in self.console if not any(p.search(m) for p in self.allowed)]
        return (
            [f"console error: {m}" for m in console]
            + [f"page error: {m}" for m in self.page_errors]
            + [f"CSP violation: {v}" for v in self.csp]
        )


def watch(context: Any, log: BrowserLog) -> None:
    """Record errors of every page opened in ``context`` into ``log``."""

    def on_csp(_source: Any, violation: dict[str, Any]) -> None:
        if violation not in log.csp:
            log.csp.append(violation)

    context.expose_binding("__reportCsp", on_csp)
    context.add_init_script(CSP_LISTENER)

    def on_page(page: Any) -> None:
        page.on(
            "console",
            lambda m: m.type == "error" and log.console.append(f"{m.text} ({m.location})"),
        )
        page.on("pageerror", lambda e: log.page_errors.append(str(e)))

    context.on("page", on_page)


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot in test-artifacts/browser/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


def finish(page: Any, log: BrowserLog, name: str) -> list[str]:
    """Keep a full-page screenshot, collect the last page's CSP list, return what went wrong."""
    try:
        screenshot(page, name)
        for violation in page.evaluate("window.__csp || []"):
            if violation not in log.csp:
                log.csp.append(violation)
    except Exception as exc:  # a closed page must not hide the test's own failure
        log.page_errors.append(f"(could not inspect the last page: {exc})")
    return log.problems()


class _OneRequestAtATime(ThreadedWSGIServer):
    """The live server, answering one request at a time.

    On SQLite the test database lives in memory, and Django hands the live server's threads
    that one connection: two requests at once (a what-if and its explanation) run statements
    on it together, and one can read back the other's rows (seen: an upsert's RETURNING
    came back empty, a 500 in a browser test). A server with its own connection per thread,
    as in production, has no such race. Each request still gets its thread (keep-alive
    connections stay open); the lock covers the application call and the whole body, since
    a streamed body reads the database too."""

    def set_app(self, application: Any) -> None:
        lock = threading.Lock()

        def one_at_a_time(environ: dict, start_response: Any) -> list[bytes]:
            with lock:
                response = application(environ, start_response)
                try:
                    return [b"".join(response)]
                finally:
                    if hasattr(response, "close"):
                        response.close()

        super().set_app(one_at_a_time)


LiveServerThread.server_class = _OneRequestAtATime


@pytest.fixture
def browser_log() -> BrowserLog:
    """The error log of the ``page`` fixture's page (``browser_log.allow`` an expected error)."""
    return BrowserLog()


@pytest.fixture
def open_page(browser, live_server, request) -> Iterator[Any]:
    """Opens a page in a fresh browser context on the live server (``open_page(log,
    **context_options)``). After the test each page leaves a full-page screenshot in
    test-artifacts/browser/<test>.png, and the test fails if any page had a console error,
    an uncaught page error or a CSP violation."""
    opened: list[tuple[Any, Any, BrowserLog]] = []

    def open_(log: BrowserLog | None = None, **context_options: Any) -> Any:
        options = {"viewport": {"width": 1280, "height": 900}, **context_options}
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        log = log or BrowserLog()
        watch(context, log)
        page = context.new_page()
        opened.append((context, page, log))
        return page

    yield open_
    problems: list[str] = []
    for number, (context, page, log) in enumerate(opened, start=1):
        name = request.node.name if number == 1 else f"{request.node.name}-{number}"
        try:
            problems += finish(page, log, name)
        finally:
            context.close()
    assert not problems, "The browser reported problems:\n" + "\n".join(problems)


@pytest.fixture
def snap(request) -> Any:
    """``snap(page, "step")`` keeps a screenshot of a step: <test>--<step>.png."""
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    return lambda page, step: screenshot(page, f"{test}--{step}")


@pytest.fixture
def page(open_page, browser_log) -> Any:
    """A page with JavaScript, checked after the test as ``open_page`` describes."""
    return open_page(browser_log)


@pytest.fixture
def browser_db(transactional_db) -> None:
    """The live server needs a transactional database, which each test leaves flushed, and a
    flush also empties what a data migration filled: the role groups come back here, made by
    the migration's own code. (Not ``django_db_serialized_rollback``: while Chromium runs,
    Django looks the connection up in another context than the one that was serialized.)"""
    create_roles = import_module("registry.migrations.0002_roles").create_roles
    create_roles(apps, None)


@pytest.fixture
def clinic(browser_db, clinic_forest_bytes, clinic_csv):
    """The clinic pipeline registered as champion, for tests that need one real model."""
    return clinic_register(clinic_forest_bytes, clinic_csv)


@pytest.fixture
def make_browser_user(browser_db):
    def make(username: str, role: str = "analyst") -> User:
        user = User.objects.create_user(username=username, password=PASSWORD)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


def log_in(page: Any, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


# ------------------------------------------------------------------ demo models
def _registry_rows() -> list[Any]:
    tables = set(connection.introspection.table_names())
    rows: list[Any] = []
    for model in apps.get_app_config("registry").get_models():
        if model._meta.db_table in tables:
            rows.extend(model.objects.order_by("pk"))
    return rows


@pytest.fixture(scope="session")
def demo_snapshot(django_db_setup, django_db_blocker) -> str:
    """The demo models as ``seed_demo`` registers them, trained once per session (~5 s).

    Seeding runs in a transaction that is rolled back, so no test sees it by accident; the
    registry's rows are kept as JSON (the artifacts stay in the storage on disk) and loaded
    by ``demo_models`` into each test's database, which live-server tests flush afterwards.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=io.StringIO())
        snapshot = serializers.serialize("json", _registry_rows())
        transaction.set_rollback(True)
    return snapshot


@pytest.fixture
def demo_models(browser_db, demo_snapshot) -> None:
    with transaction.atomic():
        for obj in serializers.deserialize("json", demo_snapshot):
            obj.save()
