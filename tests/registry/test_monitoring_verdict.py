"""The verdict: performance first, in words a business user acts on; the badge it gives."""

from __future__ import annotations

import pytest

from registry.monitoring.report import monitoring_report, monitoring_statuses
from registry.monitoring.verdict import performance_judgement, verdict
from registry.monitoring.windows import period_parse
from registry.predict.services import prediction_feedback_set, prediction_run
from registry.runtime import version_interface

BMI_UP = {"input": "bmi", "type": "number", "drifted": True, "effect": 0.8, "adjusted_p": 1e-6}
AGE = {"input": "age", "type": "integer", "drifted": False, "effect": 0.0, "adjusted_p": 0.6}
DRIFT = {"status": "drift", "rows": 900, "min_rows": 100, "drifted": 1, "inputs": [BMI_UP, AGE]}


def _mae(value, low, high, reference=44.7, **extra):
    return performance_judgement(
        metric="mae", reference=reference, value=value, low=low, high=high, **extra
    )


def test_errors_up_lead_the_sentence_and_the_moved_input_follows():
    found = verdict(drift=DRIFT, judged=_mae(76.0, 70.0, 82.0), labels={"bmi": "BMI"})
    assert found["level"] == "worse"
    assert found["sentence"] == (
        "Errors up 70% over the last 7 days (76 vs 44.7); recent BMI higher than in training."
    )
    assert found["badge"] == "errors up 70%"


def test_an_estimate_says_it_is_one():
    judged = _mae(60.0, 55.0, 65.0, estimated=True)
    found = verdict(drift=DRIFT, judged=judged, labels={})
    assert found["sentence"].startswith("Errors expected up 34% over the last 7 days (60 vs 44.7")
    assert "estimated, no outcomes yet" in found["sentence"]
    assert found["badge"] == "errors expected up 34%"


def test_a_small_or_uncertain_change_is_not_called_worse():
    assert not _mae(47.0, 46.0, 48.0)["worse"]  # certain, but 5%: not worth acting on
    assert not _mae(60.0, 40.0, 80.0)["worse"]  # large, but the interval holds the reference
    accuracy = performance_judgement(
        metric="accuracy", reference=0.91, value=0.84, low=0.81, high=0.87
    )
    assert accuracy["worse"] and round(accuracy["change"], 2) == -0.07
    found = verdict(drift={**DRIFT, "inputs": [AGE], "drifted": 0}, judged=accuracy, labels={})
    assert found["sentence"].startswith("Accuracy down 7 points over the last 7 days (84% vs 91%")


def test_drift_without_a_performance_change_says_the_answers_hold():
    found = verdict(drift=DRIFT, judged=_mae(45.0, 42.0, 48.0), labels={"bmi": "BMI"})
    assert found["level"] == "drift" and found["badge"] == "drift in 1 input"
    assert found["sentence"] == (
        "Inputs changed: recent BMI higher than in training; the answers are still as good: "
        "errors over the last 7 days as in training (45 vs 44.7)."
    )


def test_too_little_data_is_said_plainly():
    found = verdict(
        drift={"status": "not_enough_data", "rows": 12, "min_rows": 100, "inputs": []},
        judged=None,
        labels={},
    )
    assert found["level"] == "not_enough_data"
    assert found["sentence"] == (
        "Too little traffic to judge the inputs: 12 answers in this period "
        "(100 are needed to compare them with training)."
    )


@pytest.mark.django_db
def test_recent_errors_from_feedback_reach_the_badge_and_the_page(diabetes_version, make_user):
    interface = version_interface(diabetes_version)
    reference = diabetes_version.reference_sample[:120]
    answer = prediction_run(
        version=diabetes_version,
        rows=[{n: r[n] for n in interface.names} for r in reference],
        user=make_user(),
        source="api",
    )
    # Outcomes far from the answers: the errors are about three times the reference's.
    actual = [p["value"] + (150 if i % 2 else -150) for i, p in enumerate(answer.predictions)]
    prediction_feedback_set(prediction=answer.prediction, actual=actual)
    status = monitoring_statuses(versions=[diabetes_version])[diabetes_version.pk]
    assert status["level"] == "worse" and status["badge"].startswith("errors up")
    report = monitoring_report(
        version=diabetes_version, period=period_parse(version=diabetes_version)
    )
    assert report["verdict"]["level"] == "worse"
    assert report["verdict"]["sentence"].startswith("Errors up")
    assert report["verdict"]["performance"]["labelled"] == 120
