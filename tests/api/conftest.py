"""API fixtures: a client per role, authenticated with a real token."""

from __future__ import annotations

import copy

import pytest
from django.db import transaction
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from registry.artifacts.store import estimator_cache, estimator_from_bytes
from registry.catalog.services import model_version_register
from registry.models import Alias, ModelVersion

ROW = {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93.0, "s5": 4.6, "region": "north"}


@pytest.fixture
def client_as(make_user):
    """``client_as("analyst")``: an API client holding a token of a new user with that role."""

    def make(role: str | None, username: str | None = None) -> APIClient:
        user = make_user(username or f"{role or 'nobody'}-user", role)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        client.user = user
        return client

    return make


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def viewer(client_as) -> APIClient:
    return client_as("viewer")


@pytest.fixture
def analyst(client_as) -> APIClient:
    return client_as("analyst")


@pytest.fixture
def manager(client_as) -> APIClient:
    return client_as("manager")


def error_of(response, status: int, code: str) -> dict:
    """The error body of a response, after checking its status, code and shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    return body["error"]


@pytest.fixture(scope="session")
def _clinic_registered(django_db_setup, django_db_blocker, clinic_forest_bytes, clinic_csv):
    """The clinic model registered once, through the real service, then rolled back.

    Registering a random forest (loading the skops file, inferring the interface, computing
    metrics and permutation importance) takes most of a second; the API tests need the result
    in nearly every test, so they copy these rows into each test's transaction instead.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        version = model_version_register(
            name="clinic",
            artifact=clinic_forest_bytes,
            reference=clinic_csv,
            target="high_risk",
            alias="champion",
        )
        alias = Alias.objects.get(version=version)
        transaction.set_rollback(True)
    return version.model, version, alias, estimator_from_bytes(clinic_forest_bytes)


@pytest.fixture
def clinic_version(db, _clinic_registered):
    """``tests/conftest.py``'s clinic_version (same model, same rows), without the wait."""
    model, version, alias, estimator = (copy.copy(obj) for obj in _clinic_registered)
    model.save(force_insert=True)
    version.save(force_insert=True)
    alias.save(force_insert=True)
    estimator_cache.put(version.artifact_sha256, estimator)
    return ModelVersion.objects.select_related("model").get(pk=version.pk)
