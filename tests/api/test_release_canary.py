"""Canary: a version answers a share of the calls that name no version or alias, per call or
per caller, and ends itself (audited, announced) when its calls fail more often."""

from __future__ import annotations

import pytest
from scipy import stats as sps

from registry.catalog.services import model_version_register
from registry.models import AuditEvent, Canary, Event
from registry.predict.serving import served_version_find
from registry.releases.watch import release_watch_reset
from tests.api.conftest import ROW, error_of

CALLS = 2000


@pytest.fixture
def second(clinic_version, clinic_forest_bytes, clinic_csv):
    release_watch_reset()
    return model_version_register(
        name="clinic", artifact=clinic_forest_bytes, reference=clinic_csv, target="high_risk"
    )


def bounds(n: int, p: float) -> tuple[int, int]:
    """Where a Binomial(n, p) count falls 99.9% of the time."""
    low, high = sps.binom.interval(0.999, n, p)
    return int(low), int(high)


def test_the_canary_takes_its_percent_of_calls_within_a_binomial_bound(second, manager):
    put = manager.put(
        "/api/v1/models/clinic/release/canary/", {"version": 2, "percent": 10}, format="json"
    )
    assert put.status_code == 200, put.content
    assert put.json()["canary"]["version"] == 2
    chosen = [served_version_find(name="clinic").number for _ in range(CALLS)]
    low, high = bounds(CALLS, 0.10)
    assert low <= chosen.count(2) <= high, chosen.count(2)
    assert set(chosen) == {1, 2}


def test_a_sticky_canary_keeps_each_caller_on_one_version(second, manager):
    manager.put(
        "/api/v1/models/clinic/release/canary/",
        {"version": 2, "percent": 30, "sticky": True},
        format="json",
    )
    callers = range(1, 1001)
    first = {c: served_version_find(name="clinic", caller=c).number for c in callers}
    again = {c: served_version_find(name="clinic", caller=c).number for c in callers}
    assert first == again
    low, high = bounds(len(callers), 0.30)
    assert low <= list(first.values()).count(2) <= high


def test_calls_that_name_a_version_or_alias_never_go_to_the_canary(second, manager, analyst):
    manager.put(
        "/api/v1/models/clinic/release/canary/", {"version": 2, "percent": 100}, format="json"
    )
    assert served_version_find(name="clinic").number == 2
    assert {served_version_find(name="clinic", alias="champion").number for _ in range(50)} == {1}
    assert {served_version_find(name="clinic", version=1).number for _ in range(50)} == {1}
    named = analyst.post(
        "/api/v1/models/clinic/predict/", {"inputs": [ROW], "version": 1}, format="json"
    )
    plain = analyst.post("/api/v1/models/clinic/predict/", {"inputs": [ROW]}, format="json")
    assert named.json()["version"] == 1 and plain.json()["version"] == 2


@pytest.mark.django_db(transaction=True)  # the check is woken when an answer commits
def test_a_canary_that_refuses_more_calls_ends_itself_audited_and_announced(
    clinic_version, clinic_forest_bytes, manager, analyst
):
    strict = {**clinic_version.interface}
    strict["inputs"] = [
        {**item, "max": 40, "default": 30} if item["name"] == "age" else item
        for item in strict["inputs"]
    ]
    model_version_register(
        name="clinic", artifact=clinic_forest_bytes, interface=strict, allow_breaking=True
    )
    release_watch_reset()
    manager.put(
        "/api/v1/models/clinic/release/canary/", {"version": 2, "percent": 50}, format="json"
    )
    statuses = []
    for _ in range(300):
        answer = analyst.post(
            "/api/v1/models/clinic/predict/", {"inputs": [{**ROW, "age": 50}]}, format="json"
        )
        statuses.append(answer.status_code)
        if Canary.objects.get().ended_at is not None:
            break
    canary = Canary.objects.get()
    assert canary.ended_at is not None, statuses.count(400)
    assert "failed more often" in canary.ended_reason
    assert "two-proportion z-test" in canary.ended_reason
    audit = AuditEvent.objects.get(action="canary.ended")
    assert audit.actor is None and audit.details["reason"] == canary.ended_reason
    assert Event.objects.filter(name="canary.ended").count() == 1
    report = analyst.get("/api/v1/models/clinic/release/").json()["canary"]
    assert report["ended"] == canary.ended_reason and report["errors"] > 0
    # Once ended, every call is the champion's again.
    assert {served_version_find(name="clinic").number for _ in range(50)} == {1}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"version": 2, "percent": 150}, "percent"),
        ({"version": 2, "percent": -1}, "percent"),
        ({"version": 2, "percent": 0}, "percent"),
        ({"version": 1, "percent": 10}, "is the champion"),
        ({"version": 5, "percent": 10}, "no version 5"),
        ({"version": 2}, "percent"),
    ],
)
def test_bad_canaries_are_refused_naming_the_problem(second, manager, body, words):
    answer = manager.put("/api/v1/models/clinic/release/canary/", body, format="json")
    assert words in error_of(answer, 400, "invalid_input")["message"]
    assert not Canary.objects.exists()


def test_a_manager_ends_a_canary(second, manager, analyst):
    error_of(
        analyst.put(
            "/api/v1/models/clinic/release/canary/", {"version": 2, "percent": 5}, format="json"
        ),
        403,
        "permission_denied",
    )
    manager.put(
        "/api/v1/models/clinic/release/canary/", {"version": 2, "percent": 5}, format="json"
    )
    ended = manager.delete("/api/v1/models/clinic/release/canary/")
    assert ended.json()["canary"]["ended"] == "ended by a manager"
    error_of(manager.delete("/api/v1/models/clinic/release/canary/"), 404, "not_found")
