"""Who may call what: anonymous 401, a role too low 403, tokens and sessions."""

import pytest
from rest_framework.test import APIClient

from registry.models import Prediction
from tests.api.conftest import ROW, error_of

PREDICT = "/api/v1/models/clinic/predict/"

EVERY_PROTECTED_CALL = [
    ("get", "/api/v1/models/", None),
    ("get", "/api/v1/models/clinic/", None),
    ("get", "/api/v1/models/clinic/versions/1/", None),
    ("get", "/api/v1/models/clinic/interface/", None),
    ("put", "/api/v1/models/clinic/aliases/challenger/", {"version": 1}),
    ("delete", "/api/v1/models/clinic/aliases/champion/", None),
    ("post", PREDICT, {"inputs": [ROW]}),
    ("post", "/api/v1/models/clinic/whatif/", {"inputs": ROW}),
    ("post", "/api/v1/compare/", {"models": ["clinic"], "inputs": [ROW]}),
    ("get", "/api/v1/predictions/", None),
    ("get", "/api/v1/predictions/5a0c3e52-7d4f-4f0e-9a51-0f1c2d3e4b5a/", None),
    ("post", "/api/v1/predictions/5a0c3e52-7d4f-4f0e-9a51-0f1c2d3e4b5a/feedback/", {"actual": 1}),
]


@pytest.mark.parametrize(("method", "path", "body"), EVERY_PROTECTED_CALL)
def test_anonymous_calls_are_refused_with_401_and_a_token_challenge(
    db, anonymous, method, path, body
):
    response = getattr(anonymous, method)(path, body, format="json")
    error_of(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_refused_with_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    error = error_of(client.get("/api/v1/models/"), 401, "not_authenticated")
    assert error["message"] == "Invalid token."


def test_a_viewer_reads_models_but_may_not_predict(clinic_version, viewer):
    assert viewer.get("/api/v1/models/").status_code == 200
    assert viewer.get("/api/v1/models/clinic/interface/").status_code == 200
    error_of(viewer.post(PREDICT, {"inputs": [ROW]}, format="json"), 403, "permission_denied")
    for path, body in [
        ("/api/v1/models/clinic/whatif/", {"inputs": ROW}),
        ("/api/v1/compare/", {"models": ["clinic"], "inputs": [ROW]}),
    ]:
        error_of(viewer.post(path, body, format="json"), 403, "permission_denied")
    error_of(viewer.get("/api/v1/predictions/"), 403, "permission_denied")
    assert not Prediction.objects.exists()


def test_an_analyst_predicts(clinic_version, analyst):
    assert analyst.post(PREDICT, {"inputs": [ROW]}, format="json").status_code == 200


def test_an_analyst_may_not_register_or_move_aliases(clinic_version, analyst):
    error_of(
        analyst.put("/api/v1/models/clinic/aliases/challenger/", {"version": 1}, format="json"),
        403,
        "permission_denied",
    )
    error_of(analyst.delete("/api/v1/models/clinic/aliases/champion/"), 403, "permission_denied")
    error_of(analyst.post("/api/v1/models/", {"name": "x"}), 403, "permission_denied")


def test_a_user_without_a_role_reads_nothing(clinic_version, client_as):
    error_of(client_as(None).get("/api/v1/models/"), 403, "permission_denied")


def test_a_superuser_may_do_everything(clinic_version, client_as):
    root = client_as(None, "root")
    root.user.is_superuser = True
    root.user.save()
    assert root.post(PREDICT, {"inputs": [ROW]}, format="json").status_code == 200
    response = root.put("/api/v1/models/clinic/aliases/gold/", {"version": 1}, format="json")
    assert response.status_code == 200


def test_a_browser_session_works_and_needs_the_csrf_token(clinic_version, make_user):
    make_user("sam", "analyst")
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="sam", password="pw-for-tests")
    assert client.get("/api/v1/models/").status_code == 200
    error = error_of(
        client.post(PREDICT, {"inputs": [ROW]}, format="json"), 403, "permission_denied"
    )
    assert "CSRF" in error["message"]
    client.get("/accounts/login/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(PREDICT, {"inputs": [ROW]}, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200


def test_an_inactive_users_token_stops_working(clinic_version, analyst):
    analyst.user.is_active = False
    analyst.user.save()
    error_of(analyst.get("/api/v1/models/"), 401, "not_authenticated")
