"""Champion and challenger from the pages: a confirmation that says what changes, a POST that
changes it (an AuditEvent the model card's history shows), managers only; and a changed
champion is what another, already running process answers with from its next request."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.authtoken.models import Token

from registry.catalog.selectors import alias_map
from registry.models import Alias, AuditEvent
from tests.portal.test_compare_page import links, query

ROOT = Path(__file__).resolve().parents[2]
CONFIRM = "/models/clinic/aliases/champion/"


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


def test_the_confirmation_says_what_changes(as_manager, clinic_v2):
    response = as_manager.get(CONFIRM, {"version": 2, "next": "/compare/?m=clinic%401"})
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "champion moves from v1 to v2; predictions that name no version will use v2 from the "
        "next request."
    ) in html
    assert re.search(r'<form method="post" action="/models/clinic/aliases/champion/"', html)
    assert '<input type="hidden" name="next" value="/compare/?m=clinic%401">' in html
    assert alias_map(model=clinic_v2.model) == {"champion": 1}  # a GET changes nothing


def test_confirming_moves_the_alias_records_it_and_goes_back(as_manager, manager, clinic_v2):
    response = as_manager.post(CONFIRM, {"version": 2, "next": "/compare/?m=clinic%401"})
    assert response.status_code == 302
    assert response["Location"] == "/compare/?m=clinic%401"
    assert alias_map(model=clinic_v2.model) == {"champion": 2}
    event = AuditEvent.objects.filter(action=AuditEvent.Action.ALIAS_SET).latest("created_at")
    assert (event.actor, event.version, event.details) == (
        manager,
        clinic_v2,
        {"alias": "champion", "from": 1, "to": 2},
    )
    card = as_manager.get("/models/clinic/").content.decode()
    assert "clinic@champion now points at v2 (it was v1)." in card  # the message
    history = card[card.index("<h2>History</h2>") :]
    assert re.search(r"mia</td>\s*<td>Alias set: <strong>champion</strong> from v1 to v2", history)


def test_a_new_alias_and_a_free_name(as_manager, clinic_v2):
    page = as_manager.get("/models/clinic/aliases/challenger/", {"version": 2}).content.decode()
    assert "clinic has no challenger yet: it will point at v2; calls that name" in page
    response = as_manager.get("/models/clinic/aliases/", {"alias": "shadow", "version": 1})
    assert b"clinic has no shadow yet: it will point at v1" in response.content
    html = response.content.decode()
    assert '<input type="hidden" name="alias" value="shadow">' in html
    as_manager.post("/models/clinic/aliases/", {"alias": "shadow", "version": 1})
    assert alias_map(model=clinic_v2.model) == {"champion": 1, "shadow": 1}
    # Nothing to confirm when the alias already points there.
    same = as_manager.get(CONFIRM, {"version": 1}).content.decode()
    assert "champion already points at v1: nothing changes." in same
    assert 'action="/models/clinic/aliases/champion/"' not in same


@pytest.mark.parametrize(
    ("url", "params", "message"),
    [
        ("/models/clinic/aliases/", {"alias": "two words", "version": 1}, "Name the alias"),
        ("/models/clinic/aliases/", {"version": 1}, "Name the alias"),
        (CONFIRM, {}, "Choose the version the alias should point at."),
    ],
)
def test_a_bad_alias_or_no_version_is_refused_with_the_reason(
    as_manager,
    clinic_v2,
    url,
    params,
    message,
):
    for response in (as_manager.get(url, params), as_manager.post(url, params)):
        assert response.status_code == 400
        assert message in response.content.decode()
    assert as_manager.get(CONFIRM, {"version": 7}).status_code == 404
    assert Alias.objects.count() == 1


def test_it_goes_back_only_to_this_site(as_manager, clinic_v2):
    response = as_manager.post(CONFIRM, {"version": 2, "next": "https://evil.example/"})
    assert response["Location"] == "/models/clinic/"


def test_only_managers_may_move_an_alias(client, make_user, clinic_v2):
    client.force_login(make_user("ana", "analyst"))
    assert client.get(CONFIRM, {"version": 2}).status_code == 403
    assert client.post(CONFIRM, {"version": 2}).status_code == 403
    assert alias_map(model=clinic_v2.model) == {"champion": 1}
    assert not AuditEvent.objects.filter(actor__username="ana").exists()
    # ...and analysts are not offered the buttons.
    card = client.get("/models/clinic/")
    assert links(card, r"/aliases/") == []
    assert b"Make champion" not in client.get("/compare/?m=clinic@1&m=clinic@2").content


def test_managers_find_the_buttons_on_the_model_card_and_the_compare_page(
    as_manager,
    clinic_v2,
):
    card = as_manager.get("/models/clinic/")
    # v1 is the champion: making it the challenger too would be no choice at all.
    assert links(card, r"/aliases/") == [
        "/models/clinic/aliases/champion/?version=2&next=/models/clinic/",
        "/models/clinic/aliases/challenger/?version=2&next=/models/clinic/",
    ]
    compare = as_manager.get("/compare/", {"m": ["clinic@1", "clinic@2"]})
    (link,) = links(compare, r"/aliases/champion/")
    assert link.startswith("/models/clinic/aliases/champion/?version=2&")
    assert query(link)["next"] == ["/compare/?m=clinic%401&m=clinic%402"]


# ------------------------------------------------------------------ another process
# A process started before the change, still running after it, asking the API each time.
ASKER = """
import sys
from rest_framework.test import APIClient
client = APIClient(SERVER_NAME="localhost")
client.credentials(HTTP_AUTHORIZATION="Token " + sys.stdin.readline().strip())
print("ready", flush=True)
for line in sys.stdin:
    response = client.post("/api/v1/models/clinic/predict/", {"inputs": [%s]}, format="json")
    print(response.status_code, response.json().get("version"), flush=True)
"""


@pytest.mark.django_db(transaction=True)
def test_a_new_champion_answers_in_another_running_process_from_its_next_request(
    client,
    make_user,
    clinic_v2,
):
    if connection.vendor != "postgresql":
        pytest.skip(
            "another process needs a database it can share: pytest-django's SQLite test "
            "database is in memory; this runs in the PostgreSQL pass of make test"
        )
    db = connection.settings_dict
    row = {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93.0, "s5": 4.6, "region": "north"}
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "DATA_DIR": str(django_settings.DATA_DIR),
        "LOG_LEVEL": "WARNING",
    }
    with tempfile.TemporaryFile(mode="w+") as log:
        asker = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-v", "0", "-c", ASKER % json.dumps(row)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )

        def say(text: str) -> str:
            """Send a line, read the answer line (never waiting for ever)."""
            asker.stdin.write(text + "\n")
            asker.stdin.flush()
            ready, _, _ = select.select([asker.stdout], [], [], 60)
            if not ready:
                log.seek(0)
                raise AssertionError(f"the other process did not answer: {log.read()[-3000:]}")
            return asker.stdout.readline().strip()

        try:
            analyst = make_user("ana", "analyst")
            assert say(Token.objects.create(user=analyst).key) == "ready"
            assert say("go") == "200 1"
            client.force_login(make_user("mia", "manager"))
            response = client.post(CONFIRM, {"version": 2})
            assert response.status_code == 302
            assert say("go") == "200 2"
        finally:
            asker.stdin.close()
            try:
                asker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                asker.kill()
                asker.wait()


def test_promoting_the_challenger_swaps_it_with_the_champion(as_manager, clinic_v2):
    """No version reads "challenger · champion" after a promotion: the old champion becomes
    the challenger, audited with the reason."""
    from registry.catalog.services import alias_set

    model = clinic_v2.model
    alias_set(model=model, name="challenger", version=clinic_v2)
    assert alias_map(model=model) == {"champion": 1, "challenger": 2}
    response = as_manager.post(CONFIRM, {"version": 2, "next": "/models/clinic/"})
    assert response.status_code == 302
    assert alias_map(model=model) == {"champion": 2, "challenger": 1}
    swap = AuditEvent.objects.filter(action=AuditEvent.Action.ALIAS_SET).latest("created_at")
    assert (swap.details["alias"], swap.details["from"], swap.details["to"]) == ("challenger", 2, 1)
    assert swap.details["reason"] == "swapped with champion (v2 promoted)"
    html = as_manager.get("/models/clinic/").content.decode()
    assert 'challenger</span> <span class="badge alias">champion' not in html
