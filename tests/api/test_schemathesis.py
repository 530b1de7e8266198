"""Property-based calls against the live OpenAPI schema (schemathesis, in-process WSGI).

Every operation gets a bounded number of generated requests, as a manager holding a token, with
the model path parameter pinned to a registered model so the calls reach the real code. No
answer may be a 5xx, and every answer must match the schema: documented status, content type,
headers and body.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from registry.predict.services import prediction_run
from tests.api.conftest import ROW

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# Loaded once at collection, from the app itself; the schema is public and needs no database.
# (schemathesis.pytest.from_fixture would defer this to a fixture, but its lazy loader does not
# run on pytest 9.)
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json",
    get_wsgi_application(),
    config=schemathesis.Config.from_dict({"parameters": {"path.name": "clinic"}}),
)


@pytest.fixture
def as_manager(clinic_version, make_user):
    """Headers of a manager's token, and a stored prediction to point ``{id}`` at."""
    manager = make_user("schemathesis", "manager")
    token = Token.objects.create(user=manager)
    answer = prediction_run(version=clinic_version, rows=[ROW], user=manager, source="api")
    # As Django's test client does: the request signals must not close the connection that
    # holds this test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Token {token.key}"}, str(answer.prediction.id)
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_matches_the_schema_and_none_is_a_server_error(case, as_manager):
    headers, prediction_id = as_manager
    if "id" in (case.path_parameters or {}):
        case.path_parameters["id"] = prediction_id
    case.call_and_validate(headers=headers, checks=CHECKS)


ANSWERED_CALLS = [
    ("/api/v1/models/", "GET", {}),
    ("/api/v1/models/{name}/", "GET", {}),
    ("/api/v1/models/{name}/versions/{number}/", "GET", {"path_parameters": {"number": 1}}),
    ("/api/v1/models/{name}/interface/", "GET", {"query": {"alias": "champion"}}),
    ("/api/v1/models/{name}/predict/", "POST", {"body": {"inputs": [ROW, ROW], "chart": True}}),
    ("/api/v1/models/{name}/whatif/", "POST", {"body": {"inputs": ROW, "chart": True}}),
    (
        "/api/v1/compare/",
        "POST",
        {"body": {"models": ["clinic", "clinic@1"], "inputs": [ROW], "chart": True}},
    ),
    ("/api/v1/predictions/", "GET", {"query": {"model": "clinic"}}),
    ("/api/v1/predictions/{id}/", "GET", {"query": {"chart": True}}),
    ("/api/v1/predictions/{id}/feedback/", "POST", {"body": {"actual": "yes"}}),
    (
        "/api/v1/models/{name}/aliases/{alias}/",
        "PUT",
        {"path_parameters": {"alias": "challenger"}, "body": {"version": 1}},
    ),
    ("/api/v1/health/", "GET", {}),
    (
        "/api/v1/models/{name}/inputs/{input}/",
        "PATCH",
        {"path_parameters": {"input": "sex"}, "body": {"sensitive": True}},
    ),
    ("/api/v1/models/{name}/fairness/", "GET", {"query": {"chart": True}}),
    ("/api/v1/models/{name}/fairness/", "PATCH", {"body": {"favourable": "no"}}),
    ("/api/v1/models/{name}/versions/{number}/dossier/", "GET", {"path_parameters": {"number": 1}}),
]


def test_successful_answers_match_the_schema_too(as_manager):
    headers, prediction_id = as_manager
    for path, method, parts in ANSWERED_CALLS:
        parameters = {"name": "clinic", "id": prediction_id, **parts.get("path_parameters", {})}
        placeholders = {k: v for k, v in parameters.items() if "{" + k + "}" in path}
        case = schema[path][method].Case(**{**parts, "path_parameters": placeholders or None})
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        assert response.status_code == 200, (path, response.text)
