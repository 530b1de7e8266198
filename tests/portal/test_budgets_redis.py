"""The row budgets and the embed throttle counting in Redis (``REDIS_URL`` set), as several
hosts share them: the same calls as tests/api/test_budgets.py, counted by Redis."""

from __future__ import annotations

import os
import uuid

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from portal.web.sharing import share_token
from registry.models import Prediction
from tests.api.conftest import ROW

PREDICT = "/api/v1/models/clinic/predict/"


@pytest.fixture
def redis_counts(settings):
    """Counts in Redis under a prefix of this test's own (nothing else in the DB is touched)."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"Redis is required (REQUIRE_REDIS=1) but {url} does not answer.")
        pytest.skip(f"Redis does not answer at {url}")
    prefix = f"test-budgets-{uuid.uuid4().hex}"
    caches = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        },
    }
    # Through pytest-django's ``settings``, which undoes its changes last-first: an
    # ``override_settings`` here would be undone before the test's own ``settings`` changes
    # and leave them restoring this one, Redis counts and all, for the tests after.
    settings.CACHES = caches
    settings.RATE_COUNTS_IN_CACHE = True
    yield
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def test_rows_and_stored_rows_are_counted_in_redis(
    clinic_version, make_user, settings, rates, redis_counts
):
    from portal.models import RateCount

    rates(model_rows="25/hour")
    settings.PORTAL = {**settings.PORTAL, "DAILY_STORED_ROWS": 22}
    user = make_user("ana", "analyst")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    def predict(rows: int, row=ROW):
        return client.post(PREDICT, {"inputs": [row] * rows}, format="json")

    assert predict(20).status_code == 200
    assert predict(10).json()["error"]["code"] == "throttled"  # 30 > 25 scored: given back
    assert predict(2, {**ROW, "sex": "x"}).status_code == 400  # failed: given back too
    assert predict(3).json()["error"]["code"] == "quota_exceeded"  # 23 > 22 stored
    assert predict(2).status_code == 200
    assert Prediction.objects.count() == 2
    assert not RateCount.objects.exists()  # nothing counted in the database


def test_embeds_are_throttled_per_address_in_redis(
    client, clinic_version, make_user, rates, redis_counts
):
    from registry.predict.services import prediction_run

    rates(embeds="2/min")
    prediction = prediction_run(
        version=clinic_version, rows=[ROW], user=make_user("ana", "analyst"), source="api"
    ).prediction
    url = f"/embed/predictions/{prediction.id}/?s={share_token(prediction)}"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(url, REMOTE_ADDR="198.51.100.7").status_code == 200
