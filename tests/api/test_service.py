"""Health, the OpenAPI schema, and Swagger UI served from this site under its CSP."""

import re

from django.core.management import call_command
from rest_framework.test import APIClient

from tests.api.conftest import error_of

PATHS = {
    "/api/v1/models/",
    "/api/v1/models/{name}/",
    "/api/v1/models/{name}/versions/{number}/",
    "/api/v1/models/{name}/interface/",
    "/api/v1/models/{name}/aliases/{alias}/",
    "/api/v1/models/{name}/predict/",
    "/api/v1/models/{name}/whatif/",
    "/api/v1/models/{name}/explain/",
    "/api/v1/models/{name}/counterfactuals/",
    "/api/v1/compare/",
    "/api/v1/predictions/",
    "/api/v1/predictions/{id}/",
    "/api/v1/predictions/{id}/feedback/",
    "/api/v1/health/",
    "/api/v1/models/{name}/batch/",
    "/api/v1/models/{name}/monitoring/",
    "/api/v1/jobs/{id}/",
    "/api/v1/jobs/{id}/result/",
    "/api/v1/models/{name}/release/",
    "/api/v1/models/{name}/release/shadow/",
    "/api/v1/models/{name}/release/canary/",
    "/api/v1/models/{name}/promotions/",
    "/api/v1/models/{name}/promotions/{id}/approve/",
    "/api/v1/models/{name}/promotions/{id}/reject/",
    "/api/v1/webhooks/",
    "/api/v1/webhooks/{id}/",
    "/api/v1/webhooks/{id}/deliveries/",
    "/api/v1/models/{name}/inputs/{input}/",
    "/api/v1/models/{name}/fairness/",
    "/api/v1/models/{name}/versions/{number}/dossier/",
    "/api/v1/models/{name}/alerts/",
    "/api/v1/models/{name}/alerts/{id}/",
}


def test_health_is_public_and_checks_the_database(db):
    response = APIClient().get("/api/v1/health/")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})


def test_health_is_503_when_the_database_cannot_be_reached():
    # No `db` fixture: pytest-django refuses this test any database connection, as a
    # database that is down would.
    response = APIClient().get("/api/v1/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "error"}


def test_any_other_path_under_api_is_a_json_404(db):
    error_of(APIClient().get("/api/v2/models/"), 404, "not_found")


def test_the_schema_describes_every_endpoint(db):
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == PATHS
    predict = schema["paths"]["/api/v1/models/{name}/predict/"]["post"]
    examples = predict["requestBody"]["content"]["application/json"]["examples"]
    assert len(examples) == 3
    assert {"400", "401", "403", "404", "413", "415", "429"} <= set(predict["responses"])
    register = schema["paths"]["/api/v1/models/"]["post"]
    assert list(register["requestBody"]["content"]) == ["multipart/form-data"]


def test_the_schema_validates_without_warnings(db, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert (tmp_path / "s.yml").read_text().startswith("openapi: 3.0")


def test_swagger_ui_is_served_from_this_site_without_inline_script(db):
    client = APIClient()
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all(" src=" in tag for tag in scripts)
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert all(src.startswith("/") for src in sources)  # this site, no CDN
    policy = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1)
    assert script_src == "'self'"
    for src in sources:
        script = client.get(src.replace("&amp;", "&"))
        script.close()  # a static file is streamed from a file left open until closed
        assert script.status_code == 200, src
    start = client.get("/api/docs/?script=")
    assert "SwaggerUIBundle(" in start.content.decode()
    assert start["Content-Type"].startswith("application/javascript")
