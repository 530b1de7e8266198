"""Performance estimated without labels (CBPE, DLE): seeded simulations with a known P(y|x)
under a covariate shift only, and the estimate as the monitoring report serves it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier

from registry.monitoring.estimate import (
    calibration_fit,
    cbpe_estimate,
    dle_estimate,
    error_model_fit,
    realized,
)
from registry.monitoring.estimation import estimated_summary
from registry.monitoring.report import monitoring_report
from registry.monitoring.windows import period_parse
from registry.predict.services import prediction_feedback_set, prediction_run
from registry.runtime import version_estimator, version_interface


def _inputs(rng, n, shift):
    return pd.DataFrame(
        rng.normal(size=(n, 3)) + shift * np.array([1.0, -0.7, 0.4]), columns=["a", "b", "c"]
    )


def _p(x):
    return 1 / (1 + np.exp(-(1.4 * x.a - x.b + 0.7 * x.a * x.c - 0.3)))


@pytest.fixture(scope="module")
def forest_problem():
    """A random forest (its probabilities need calibrating), 500 labelled reference rows."""
    rng = np.random.default_rng(7)
    train = _inputs(rng, 3000, 0.0)
    model = RandomForestClassifier(n_estimators=60, min_samples_leaf=5, random_state=0)
    model.fit(train, rng.random(3000) < _p(train))
    reference = _inputs(rng, 500, 0.0)
    labels = (rng.random(500) < _p(reference)).astype(int)
    return rng, model, calibration_fit(model.predict_proba(reference), labels, ["0", "1"])


@pytest.mark.parametrize("shift", [0.0, 0.6, 1.2])
def test_expected_accuracy_is_within_003_of_realized_under_a_covariate_shift(forest_problem, shift):
    rng, model, calibration = forest_problem
    period = _inputs(rng, 2000, shift)
    proba = model.predict_proba(period)
    labels = (rng.random(2000) < _p(period)).astype(int)
    found = cbpe_estimate(calibration, proba, metric="accuracy")
    actual = realized("accuracy", actual=labels, answered=proba.argmax(axis=1), scores=None)
    assert abs(found["estimate"] - actual) <= 0.03
    assert found["low"] <= actual <= found["high"]


def test_the_roc_auc_estimate_and_its_interval_hold_the_realized_auc(forest_problem):
    rng, model, calibration = forest_problem
    period = _inputs(rng, 2000, 0.8)
    proba = model.predict_proba(period)
    labels = (rng.random(2000) < _p(period)).astype(int)
    found = cbpe_estimate(calibration, proba, metric="roc_auc")
    actual = realized("roc_auc", actual=labels, answered=proba.argmax(axis=1), scores=proba[:, 1])
    assert abs(found["estimate"] - actual) <= 0.03
    assert found["low"] <= actual <= found["high"]


def test_calibration_is_kept_only_when_it_beats_the_models_own_probabilities():
    rng = np.random.default_rng(3)
    truth = rng.uniform(0.02, 0.98, 800)
    labels = (rng.random(800) < truth).astype(int)
    honest = calibration_fit(np.column_stack([1 - truth, truth]), labels, ["no", "yes"])
    assert honest.method == "none"
    # Over-confident: every probability pushed away from 0.5.
    squashed = np.clip(0.5 + 2.5 * (truth - 0.5), 0.001, 0.999)
    bold = calibration_fit(np.column_stack([1 - squashed, squashed]), labels, ["no", "yes"])
    assert bold.method == "isotonic"
    assert bold.check["ece_calibrated"] < bold.check["ece_model"]


def test_expected_mae_follows_errors_that_grow_with_an_input():
    rng = np.random.default_rng(11)

    def frame(n, shift):
        x = pd.DataFrame({"a": rng.normal(shift, 1, n), "b": rng.normal(0, 1, n)})
        y = 2 * x.a + x.b + rng.normal(size=n) * (0.3 + 0.6 * np.abs(x.a))
        return x, y.to_numpy()

    x, y = frame(3000, 0.0)
    model = GradientBoostingRegressor(n_estimators=80, max_depth=3, random_state=0).fit(x, y)
    inputs = [{"name": "a", "type": "number"}, {"name": "b", "type": "number"}]
    xr, yr = frame(500, 0.0)
    errors = error_model_fit(xr.to_dict("records"), inputs, model.predict(xr), yr)
    xp, yp = frame(2000, 1.0)
    answers = model.predict(xp)
    found = dle_estimate(errors, xp.to_dict("records"), answers)
    actual = float(np.mean(np.abs(yp - answers)))
    assert actual > float(np.mean(np.abs(yr - model.predict(xr)))) * 1.2  # errors did grow
    assert abs(found["estimate"] - actual) <= 0.1 * actual
    assert found["low"] <= actual <= found["high"]


def test_the_sentence_says_how_much_worse_in_plain_words():
    text = estimated_summary(
        method="DLE",
        metric="mae",
        recent={"estimate": 76.0, "low": 70.0, "high": 82.0},
        reference=44.7,
        days=7,
        unit="points",
    )
    assert text.startswith("Without waiting for outcomes: over the last 7 days")
    assert "76 points" in text and "errors up 70%" in text
    text = estimated_summary(
        method="CBPE",
        metric="accuracy",
        recent={"estimate": 0.84, "low": 0.81, "high": 0.87},
        reference=0.91,
        days=7,
    )
    assert "right 84% of the time (likely 81%–87%), against 91%" in text
    assert "7 points worse" in text


@pytest.mark.django_db
def test_the_report_estimates_accuracy_beside_the_feedback(clinic_version, make_user):
    """Reference rows resampled by their inputs: P(y|x) unchanged, the mix shifted."""
    interface = version_interface(clinic_version)
    reference = clinic_version.reference_sample
    rng = np.random.default_rng(5)
    bmi = np.array([r["bmi"] for r in reference])
    weights = np.exp((bmi - bmi.mean()) / bmi.std())  # heavier patients, more often
    picks = rng.choice(len(reference), 400, p=weights / weights.sum())
    user = make_user()
    answered = []
    for start in range(0, 400, 100):
        rows = [{n: reference[i][n] for n in interface.names} for i in picks[start : start + 100]]
        answered.append(prediction_run(version=clinic_version, rows=rows, user=user, source="api"))
    truth = [reference[i]["high_risk"] for i in picks]
    for k, answer in enumerate(answered):
        prediction_feedback_set(prediction=answer.prediction, actual=truth[k * 100 : (k + 1) * 100])
    report = monitoring_report(version=clinic_version, period=period_parse(version=clinic_version))
    estimated = report["estimated_performance"]
    assert estimated["method"] == "CBPE" and estimated["metric"] == "accuracy"
    assert estimated["check"]["kind"] == "calibration"
    recent = estimated["recent"]
    assert recent["rows"] == 400
    labels = [
        str(v)
        for v in version_estimator(clinic_version).predict(
            pd.DataFrame([{n: reference[i][n] for n in interface.names} for i in picks])
        )
    ]
    actual = np.mean([a == b for a, b in zip(labels, truth, strict=True)])
    assert abs(recent["estimate"] - actual) <= 0.03
    assert recent["low"] <= actual <= recent["high"]
    assert recent["realized"] == pytest.approx(actual)
    assert estimated["others"][0]["metric"] == "roc_auc"
    assert estimated["summary"].startswith("Without waiting for outcomes")
    assert any(point["estimate"] is not None for point in estimated["series"])


@pytest.mark.django_db
def test_a_regressor_gets_an_expected_mae(diabetes_version, make_user):
    interface = version_interface(diabetes_version)
    rows = [{n: r[n] for n in interface.names} for r in diabetes_version.reference_sample[:200]]
    prediction_run(version=diabetes_version, rows=rows, user=make_user(), source="api")
    period = period_parse(version=diabetes_version)
    estimated = monitoring_report(version=diabetes_version, period=period)["estimated_performance"]
    assert estimated["method"] == "DLE" and estimated["metric"] == "mae"
    assert estimated["reference"] == pytest.approx(diabetes_version.metrics["mae"])
    assert estimated["recent"]["low"] <= estimated["recent"]["estimate"]
    assert estimated["recent"]["estimate"] <= estimated["recent"]["high"]
    assert estimated["recent"]["realized"] is None


@pytest.mark.django_db
def test_without_answers_it_says_so_and_estimates_nothing(iris_version):
    period = period_parse(version=iris_version)
    estimated = monitoring_report(version=iris_version, period=period)["estimated_performance"]
    assert estimated["others"][0]["metric"] == "macro_recall"
    assert estimated["recent"]["estimate"] is None
    assert estimated["summary"].startswith("Not enough answers")
