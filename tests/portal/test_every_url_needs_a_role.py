"""Every page and endpoint in the URLconf refuses a login that holds no role.

The test walks the whole URLconf (pages, API, v2) rather than a list, so a view added later
without a role check fails here. The few public ones are named below with the reason.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token

from portal.web.sharing import share_token
from registry.models import BatchJob, Prediction
from registry.predict.services import prediction_run

ROW = {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93.0, "s5": 4.6, "region": "north"}

# Public by design, and why. Everything else must refuse a login without a role.
PUBLIC = {
    "login": "the login page itself",
    "logout": "anyone logged in may log out",
    "profile": "the user's own account: it says they have no role and whom to ask",
    "token_reset": "the user's own token, which the API refuses without a role",
    "api:health": "load balancers' health check",
    "api:schema": "the API's description (no data), read by client generators",
    "api:docs": "the Swagger UI of that description (no data)",
    "v2:live": "the protocol's liveness probe",
    "v2:ready": "the protocol's readiness probe",
    "v2-server": "the protocol's server metadata (name and extensions, no data)",
}


def _walk(patterns, prefix="", namespace=""):
    """(route, name, is_regex) of every URL pattern, resolvers followed."""
    for p in patterns:
        route = str(p.pattern)
        if isinstance(p, URLResolver):
            ns = p.namespace or namespace
            yield from _walk(p.url_patterns, prefix + route, ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else p.name
            yield prefix + route, name, route.startswith("^")


def _concrete(route: str, ids: dict[str, str]) -> str:
    """A path for a route, its parameters filled with objects the no-role user owns."""

    def fill(match: re.Match) -> str:
        converter, name = match.group(1) or "str", match.group(2)
        if converter == "uuid":
            return ids.get(name, str(uuid.uuid4()))
        if converter == "int":
            return "1"
        return {"name": "clinic", "alias": "champion"}.get(name, "clinic")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)


def _urls():
    found = []
    for route, name, is_regex in _walk(get_resolver().url_patterns):
        if route.startswith("admin/") or is_regex:
            continue  # Django's admin checks is_staff itself (below); ^ is the API's JSON 404
        found.append((route, name))
    return found


URLS = _urls()


def test_the_walk_finds_the_pages_the_api_and_v2():
    names = {name for _, name in URLS}
    assert {"monitor", "prediction_embed", "api:monitoring", "api:compare", "v2:infer"} <= names
    assert set(PUBLIC) <= names


@pytest.fixture
def nobody(make_user, clinic_version):
    """A login without a role that still owns a prediction and a job (say, from before its
    role was taken away): a view that forgot the role check would show them."""
    user = make_user("nobody", role=None)
    prediction = prediction_run(version=clinic_version, rows=[ROW], user=user, source="api")
    job = BatchJob.objects.create(version=clinic_version, user=user, input_file="x.csv")
    ids = {"id": str(prediction.prediction.id)}
    return user, ids, {"job": str(job.id)}


def _path(route: str, name: str, nobody) -> str:
    _, ids, jobs = nobody
    return _concrete(route, {"id": jobs["job"]} if "job" in (name or "") else ids)


@pytest.mark.parametrize(("route", "name"), [u for u in URLS if u[1] not in PUBLIC])
def test_a_login_without_a_role_is_refused(client, nobody, route, name):
    user, _, _ = nobody
    path = _path(route, name, nobody)
    if path.startswith("/v2/"):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {Token.objects.create(user=user).key}"}
    else:
        client.force_login(user)
        headers = {}
    statuses = {
        method: getattr(client, method)(path, **headers).status_code for method in ("get", "post")
    }
    # 405 only for a method the view does not take; the one it takes must be 403.
    assert set(statuses.values()) <= {403, 405} and 403 in statuses.values(), (path, statuses)


@pytest.mark.parametrize(("route", "name"), [u for u in URLS if u[1] not in PUBLIC])
def test_an_anonymous_caller_is_sent_to_log_in(client, nobody, route, name):
    path = _path(route, name, nobody)
    responses = [getattr(client, method)(path) for method in ("get", "post")]
    statuses = [r.status_code for r in responses]
    # 405 only for a method the view does not take; the one it takes must refuse.
    refused = 401 if path.startswith(("/api/", "/v2/")) else 302
    assert set(statuses) <= {refused, 405} and refused in statuses, (path, statuses)
    for response in responses:
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/")


def test_the_admin_sends_a_login_without_staff_to_its_own_login(client, nobody):
    client.force_login(nobody[0])
    response = client.get("/admin/registry/prediction/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_share_link_still_opens_the_embed_without_a_login(client, nobody):
    _, ids, _ = nobody
    token = share_token(Prediction.objects.get(id=ids["id"]))
    assert client.get(f"/embed/predictions/{ids['id']}/?s={token}").status_code == 200
