"""Shadow: a second version answers the champion's API, /v2/ and batch calls in the
background. Its answers come from the real task worker, are stored with source `shadow` and
linked to the champion's; the caller's answer is the champion's, unchanged."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest
import skops.io as sio
from django.core.files.uploadedfile import SimpleUploadedFile
from sklearn.linear_model import LinearRegression

from registry.catalog.services import model_version_register
from registry.models import AuditEvent, BatchJob, Prediction, Shadow, ShadowAnswer, Source
from registry.releases.watch import release_watch_reset
from tests.api.conftest import ROW, error_of
from tests.conftest import csv_bytes
from tests.receivers import DATABASE_TASKS, work_once, work_until

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = [
    {**ROW, "age": age, "bmi": bmi, "sex": sex}
    for age, bmi in [(25, 20.0), (40, 26.0), (55, 31.0), (70, 38.0), (62, 24.0)]
    for sex in ("male", "female")
]


@pytest.fixture
def challenger(clinic_version, clinic_logistic_bytes, clinic_csv):
    """clinic v1 (the forest, champion) and v2 (a logistic regression)."""
    release_watch_reset()
    return model_version_register(
        name="clinic", artifact=clinic_logistic_bytes, reference=clinic_csv, target="high_risk"
    )


@pytest.fixture
def worker(settings):
    settings.TASKS = DATABASE_TASKS
    release_watch_reset()
    yield
    release_watch_reset()


def all_shadowed() -> bool:
    champion = Prediction.objects.filter(version__number=1, source__in=["api", "batch"])
    return champion.count() == ShadowAnswer.objects.count()


def test_the_worker_answers_what_the_champion_answered_and_the_caller_sees_only_the_champion(
    challenger, analyst, manager, worker
):
    put = manager.put("/api/v1/models/clinic/release/shadow/", {"version": 2}, format="json")
    assert put.status_code == 200, put.content
    answers = [
        analyst.post("/api/v1/models/clinic/predict/", {"inputs": [row]}, format="json").json()
        for row in ROWS
    ]
    v2_body = {
        "inputs": [
            {
                "name": key,
                "shape": [1],
                "datatype": "BYTES" if isinstance(v, str) else "FP64",
                "data": [v],
            }
            for key, v in ROWS[0].items()
        ]
    }
    oip = analyst.post(
        "/v2/models/clinic/infer", json.dumps(v2_body), content_type="application/json"
    )
    assert oip.status_code == 200, oip.content
    assert {a["version"] for a in answers} == {1}
    # Nothing was answered by the shadow on the callers' path.
    assert not Prediction.objects.filter(source=Source.SHADOW).exists()

    work_until(all_shadowed)

    pairs = list(ShadowAnswer.objects.select_related("champion", "answer"))
    assert len(pairs) == len(ROWS) + 1
    for pair in pairs:
        assert pair.answer.source == Source.SHADOW and pair.answer.version.number == 2
        assert pair.answer.inputs == pair.champion.inputs
        assert pair.champion.version.number == 1 and pair.rows == 1
    # What the callers got is what the champion stored, unchanged.
    for answer in answers:
        stored = Prediction.objects.get(pk=answer["id"])
        assert stored.outputs == answer["predictions"]

    report = analyst.get("/api/v1/models/clinic/release/").json()
    shadow = report["shadow"]
    assert shadow["version"] == 2 and shadow["share"] == 1.0
    assert shadow["calls"] == shadow["compared"] == len(ROWS) + 1
    agreed = sum(p.agreed for p in pairs) / len(pairs)
    assert shadow["agreement"] == pytest.approx(agreed)
    assert shadow["latency_ms"]["champion"]["p50"] > 0 and shadow["latency_ms"]["shadow"]["p50"] > 0
    assert shadow["verdict"] == "not enough data" and shadow["performance"] is None
    for row in shadow["disagreements"]:
        assert row["champion"]["label"] != row["shadow"]["label"]


def test_feedback_gives_each_sides_accuracy_with_an_interval_and_a_verdict(
    challenger, analyst, manager, worker, clinic_frame
):
    manager.put("/api/v1/models/clinic/release/shadow/", {"version": 2}, format="json")
    rows = clinic_frame.drop(columns="high_risk").head(60).to_dict("records")
    truths = clinic_frame["high_risk"].head(60).tolist()
    for row, truth in zip(rows, truths, strict=True):
        answer = analyst.post("/api/v1/models/clinic/predict/", {"inputs": [row]}, format="json")
        assert answer.status_code == 200, answer.content
        analyst.post(
            f"/api/v1/predictions/{answer.json()['id']}/feedback/", {"actual": truth}, format="json"
        )
    work_until(all_shadowed)
    performance = analyst.get("/api/v1/models/clinic/release/").json()["shadow"]["performance"]
    assert performance["metric"] == "accuracy" and performance["rows"] == 60
    low, high = performance["interval"]
    assert low <= performance["difference"] <= high
    assert performance["difference"] == pytest.approx(
        performance["shadow"] - performance["champion"]
    )
    verdict = analyst.get("/api/v1/models/clinic/release/").json()["shadow"]["verdict"]
    assert verdict in ("no evidence the challenger is worse", "the challenger is worse")
    assert (verdict == "the challenger is worse") == (high < 0)


def test_a_batch_job_of_the_champion_is_shadowed_too(challenger, analyst, manager, worker):
    manager.put("/api/v1/models/clinic/release/shadow/", {"version": 2}, format="json")
    data = csv_bytes(pd.DataFrame(ROWS))
    upload = analyst.post(
        "/api/v1/models/clinic/batch/",
        {"file": SimpleUploadedFile("rows.csv", data, "text/csv")},
        format="multipart",
    )
    assert upload.status_code == 202, upload.content
    work_until(lambda: BatchJob.objects.get().done and ShadowAnswer.objects.exists())
    pair = ShadowAnswer.objects.select_related("champion", "answer").get()
    assert pair.champion.source == Source.BATCH and pair.answer.source == Source.SHADOW
    assert pair.rows == len(pair.champion.inputs) > 0


def test_a_share_of_calls_is_shadowed_and_the_rest_is_recorded_as_not_sampled(
    challenger, analyst, manager, worker
):
    manager.put(
        "/api/v1/models/clinic/release/shadow/", {"version": 2, "share": 0.5}, format="json"
    )
    for row in ROWS:
        analyst.post("/api/v1/models/clinic/predict/", {"inputs": [row]}, format="json")
    work_until(all_shadowed)
    sampled = ShadowAnswer.objects.filter(sampled=True)
    assert sampled.count() == Prediction.objects.filter(source=Source.SHADOW).count()
    assert sampled.count() == sum(
        1 for p in Prediction.objects.filter(source="api") if p.pk.int % 10_000 < 5_000
    )


def test_stopping_keeps_the_comparison_in_the_audit_trail(challenger, analyst, manager, worker):
    manager.put("/api/v1/models/clinic/release/shadow/", {"version": 2}, format="json")
    analyst.post("/api/v1/models/clinic/predict/", {"inputs": ROWS[:3]}, format="json")
    work_until(all_shadowed)
    stopped = manager.delete("/api/v1/models/clinic/release/shadow/")
    assert stopped.status_code == 200 and stopped.json()["stopped"]["compared"] == 1
    assert manager.get("/api/v1/models/clinic/release/").json()["shadow"] is None
    audit = AuditEvent.objects.get(action="shadow.stopped")
    assert audit.details["comparison"]["compared"] == 1
    # Answers after the stop are not shadowed.
    analyst.post("/api/v1/models/clinic/predict/", {"inputs": ROWS[:1]}, format="json")
    time.sleep(1.1)  # past the sweep's settling time
    work_once()
    assert ShadowAnswer.objects.count() == 1


def test_a_regressor_shadow_reports_the_value_difference(
    diabetes_version, diabetes_frame, analyst, manager
):
    X, y = diabetes_frame.drop(columns="progression"), diabetes_frame["progression"]
    model_version_register(
        name="diabetes",
        artifact=sio.dumps(LinearRegression(fit_intercept=False).fit(X, y)),
        reference=csv_bytes(diabetes_frame),
        target="progression",
    )
    manager.put("/api/v1/models/diabetes/aliases/champion/", {"version": 1}, format="json")
    release_watch_reset()
    manager.put("/api/v1/models/diabetes/release/shadow/", {"version": 2}, format="json")
    rows = X.head(5).to_dict("records")
    analyst.post("/api/v1/models/diabetes/predict/", {"inputs": rows}, format="json")
    # The immediate task backend (the tests' default) answers at once, after the commit.
    pair = ShadowAnswer.objects.select_related("champion", "answer").get()
    expected = [
        abs(a["value"] - b["value"])
        for a, b in zip(pair.champion.outputs, pair.answer.outputs, strict=True)
    ]
    difference = analyst.get("/api/v1/models/diabetes/release/").json()["shadow"][
        "value_difference"
    ]
    assert difference["mean"] == pytest.approx(sum(expected) / 5, rel=1e-6)
    assert difference["p95"] <= max(expected) + 1e-9


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        ({"version": 1}, 400, "invalid_input", "is the champion"),
        ({"version": 7}, 400, "invalid_input", "no version 7"),
        ({"version": 2, "share": 0}, 400, "invalid_input", "share"),
        ({"version": 2, "share": 1.5}, 400, "invalid_input", "share"),
        ({}, 400, "invalid_input", "version"),
    ],
)
def test_bad_shadows_are_refused_naming_the_problem(challenger, manager, body, status, code, words):
    answer = manager.put("/api/v1/models/clinic/release/shadow/", body, format="json")
    assert words in error_of(answer, status, code)["message"]
    assert not Shadow.objects.exists()


def test_only_managers_start_or_stop_a_shadow(challenger, analyst):
    put = analyst.put("/api/v1/models/clinic/release/shadow/", {"version": 2}, format="json")
    error_of(put, 403, "permission_denied")
    error_of(analyst.delete("/api/v1/models/clinic/release/shadow/"), 403, "permission_denied")
    assert not Shadow.objects.exists()
