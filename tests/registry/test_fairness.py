"""Fairness: sensitive inputs, group figures equal to fairlearn's MetricFrame, recourse."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from fairlearn.metrics import (
    MetricFrame,
    count,
    false_positive_rate,
    mean_prediction,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, mean_absolute_error, recall_score

from registry.catalog.services import model_version_register
from registry.explain.counterfactuals import counterfactual_target
from registry.fairness import recourse
from registry.fairness.figures import SMALL_GROUP, group_figures
from registry.fairness.groups import BINS, MAX_GROUPS
from registry.fairness.selectors import (
    fairness_report,
    recourse_rows,
    reference_rows,
    sensitive_groups,
)
from registry.fairness.services import (
    fairness_read,
    version_favourable_set,
    version_sensitive_set,
)
from registry.models import AuditEvent, JobStatus, ModelVersion, Prediction, VersionReport
from registry.runtime import version_estimator, version_interface
from tests.conftest import csv_bytes


@pytest.fixture
def clinic_kept(db, clinic_forest_bytes, clinic_frame):
    """The clinic model with an age band and a patient id kept beside its inputs."""
    frame = clinic_frame.copy()
    frame["age_band"] = pd.cut(frame["age"], [0, 40, 60, 120], labels=["<40", "40-59", "60+"])
    frame["age_band"] = frame["age_band"].astype(str)
    frame["patient"] = [f"p{i}" for i in range(len(frame))]
    return model_version_register(
        name="clinic",
        artifact=clinic_forest_bytes,
        reference=csv_bytes(frame),
        target="high_risk",
        keep=["age_band", "patient"],
    )


def _sensitive(version, *names, manager=None):
    for name in names:
        version, _ = version_sensitive_set(version=version, name=name, sensitive=True, user=manager)
    return version


# ---------------------------------------------------------------- sensitive inputs
def test_marking_an_input_sensitive_is_audited_and_makes_no_new_version(clinic_version, make_user):
    manager = make_user("mia", "manager")
    revision = clinic_version.revision
    version, how = version_sensitive_set(
        version=clinic_version, name="sex", sensitive=True, user=manager
    )
    assert ModelVersion.objects.filter(model=version.model).count() == 1
    assert version.revision == revision + 1
    assert version_interface(version).sensitive == ["sex"]
    event = AuditEvent.objects.get(action=AuditEvent.Action.FAIRNESS_SET)
    assert event.actor == manager
    assert event.details["inputs"] == {"sex": {"sensitive": [False, True]}}
    assert "groups" in how


def test_it_refuses_an_unknown_input(clinic_version):
    with pytest.raises(ValidationError, match="Unknown input 'nope'"):
        version_sensitive_set(version=clinic_version, name="nope", sensitive=True, user=None)


def test_a_number_with_many_values_is_binned(clinic_version):
    version, how = version_sensitive_set(
        version=clinic_version, name="bmi", sensitive=True, user=None
    )
    assert "bins" in how
    (entry,) = fairness_report(version=version)["inputs"]
    assert entry["binned"] and len(entry["groups"]) == BINS


def test_a_kept_column_with_too_many_values_is_refused(clinic_kept):
    assert [k["name"] for k in version_interface(clinic_kept).kept] == ["age_band", "patient"]
    assert version_interface(clinic_kept).sensitive == []  # kept, not yet marked
    with pytest.raises(ValidationError, match=f"more than {MAX_GROUPS} groups"):
        version_sensitive_set(version=clinic_kept, name="patient", sensitive=True, user=None)


def test_a_column_the_model_does_not_take_groups_the_reference_rows(clinic_kept):
    version = _sensitive(clinic_kept, "age_band")
    report = fairness_report(version=version)
    (entry,) = report["inputs"]
    assert entry["input"] == "age_band" and entry["kept"]
    assert {g["group"] for g in entry["groups"]} == {"<40", "40-59", "60+"}
    # The model still takes exactly its inputs.
    assert "age_band" not in version_interface(version).names


# ---------------------------------------------------------------- figures equal MetricFrame
def test_binary_figures_equal_metricframe(clinic_version):
    version = _sensitive(clinic_version, "sex", "region")
    report = fairness_report(version=version)
    rows = reference_rows(version)
    y_true, y_pred = rows.actual.to_numpy(), rows.predicted.to_numpy()
    for entry in report["inputs"]:
        groups = rows.raw[entry["input"]].astype(str).to_numpy()
        expected = MetricFrame(
            metrics={
                "count": count,
                "accuracy": accuracy_score,
                "selection_rate:yes": lambda t, p: selection_rate(t, p, pos_label="yes"),
                "tpr": lambda t, p: true_positive_rate(t, p, pos_label="yes"),
                "fpr": lambda t, p: false_positive_rate(t, p, pos_label="yes"),
            },
            y_true=y_true,
            y_pred=y_pred,
            sensitive_features=groups,
        )
        for g in entry["groups"]:
            want = expected.by_group.loc[g["group"]]
            assert g["count"] == want["count"]
            assert g["accuracy"] == pytest.approx(want["accuracy"], abs=1e-6)
            assert g["selection_rate"]["yes"] == pytest.approx(want["selection_rate:yes"], abs=1e-6)
            assert g["tpr"] == pytest.approx(want["tpr"], abs=1e-6)
            assert g["fpr"] == pytest.approx(want["fpr"], abs=1e-6)
        diff = expected.difference(method="between_groups")
        ratio = expected.ratio(method="between_groups")
        assert entry["largest_difference"]["accuracy"] == pytest.approx(diff["accuracy"], abs=1e-6)
        assert entry["smallest_ratio"]["tpr"] == pytest.approx(ratio["tpr"], abs=1e-6)
        assert entry["sentences"]


def test_multiclass_recall_per_class_equals_metricframe(iris_version):
    version, _ = version_sensitive_set(
        version=iris_version, name="petal_width", sensitive=True, user=None
    )
    (entry,) = fairness_report(version=version)["inputs"]
    rows = reference_rows(version)
    groups = sensitive_groups(version, rows.raw)["petal_width"][0].to_numpy()
    classes = ["setosa", "versicolor", "virginica"]
    for c in classes:
        expected = MetricFrame(
            metrics=lambda t, p, c=c: recall_score(
                t, p, labels=[c], average=None, zero_division=np.nan
            )[0],
            y_true=rows.actual.to_numpy(),
            y_pred=rows.predicted.to_numpy(),
            sensitive_features=groups,
        )
        for g in entry["groups"]:
            truly = (groups == g["group"]) & (rows.actual.to_numpy() == c)
            got = g["recall"][c]
            if truly.any():
                assert got == pytest.approx(expected.by_group[g["group"]], abs=1e-6)
            else:  # no row of the group is truly this class: no recall, not a zero
                assert got is None


def test_regression_figures_equal_metricframe(diabetes_version):
    version, _ = version_sensitive_set(
        version=diabetes_version, name="age", sensitive=True, user=None
    )
    (entry,) = fairness_report(version=version)["inputs"]
    rows = reference_rows(version)
    labels = {g["group"] for g in entry["groups"]}
    assert entry["binned"] and len(labels) == BINS
    groups = sensitive_groups(version, rows.raw)["age"][0].to_numpy()
    expected = MetricFrame(
        metrics={"mae": mean_absolute_error, "mean_prediction": mean_prediction},
        y_true=rows.actual.to_numpy(),
        y_pred=rows.predicted.to_numpy(),
        sensitive_features=groups,
    )
    for g in entry["groups"]:
        assert g["mae"] == pytest.approx(expected.by_group.loc[g["group"], "mae"], abs=1e-6)
        assert g["mean_prediction"] == pytest.approx(
            expected.by_group.loc[g["group"], "mean_prediction"], abs=1e-6
        )
        lo, hi = g["intervals"]["mae"]
        assert lo <= g["mae"] <= hi


def test_a_group_of_one_row_is_shown_flagged_and_not_compared():
    predicted = pd.Series(["yes", "no", "yes", "no"] * 10 + ["yes"], dtype=object)
    actual = pd.Series(["yes", "no", "no", "no"] * 10 + ["no"], dtype=object)
    groups = pd.Series(["a", "b"] * 20 + ["lonely"], dtype=object)
    figures = group_figures(
        task="classification",
        classes=["no", "yes"],
        predicted=predicted,
        actual=actual,
        groups=groups,
        positive="yes",
    )
    lonely = next(g for g in figures["groups"] if g["group"] == "lonely")
    assert lonely["count"] == 1 and lonely["small"]
    assert lonely["tpr"] is None  # no positive row: no rate, never 0/0
    assert lonely["fpr"] == 1.0
    assert lonely["intervals"]["accuracy"] is not None
    assert figures["compared"] == ["a", "b"]
    assert all(not g["small"] for g in figures["groups"] if g["group"] != "lonely")
    assert SMALL_GROUP > 1


# ---------------------------------------------------------------- on feedback
def test_feedback_figures_and_the_gap_over_time(clinic_version, clinic_frame):
    version = _sensitive(clinic_version, "sex")
    rows = clinic_frame.drop(columns="high_risk").head(60).to_dict(orient="records")
    truth = clinic_frame["high_risk"].head(60).tolist()
    for row, actual in zip(rows, truth, strict=True):
        Prediction.objects.create(
            version=version,
            source="api",
            inputs=[row],
            outputs=[{"label": "yes" if row["bmi"] > 27 else "no"}],
            latency_ms=1.0,
            feedback=actual,
        )
    report = fairness_report(version=version, on="feedback")
    assert report["rows"] == 60
    (entry,) = report["inputs"]
    assert sum(g["count"] for g in entry["groups"]) == 60
    assert entry["over_time"] and entry["over_time"][0]["rows"] == 60


def test_a_version_without_sensitive_inputs_says_so(clinic_version):
    report = fairness_report(version=clinic_version)
    assert report["inputs"] == [] and report["notes"] == ["No input is marked sensitive."]


# ---------------------------------------------------------------- recourse
def test_recourse_is_measured_by_the_worker_once_per_revision(
    clinic_version, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("registry.fairness.recourse.SAMPLE_ROWS", 40)  # 200 in use: 15 s here
    version = _sensitive(clinic_version, "sex")
    version = version_favourable_set(version=version, favourable="no", user=None)
    with django_capture_on_commit_callbacks(execute=True):
        first = fairness_read(version=version)
    assert first["recourse_status"] in (JobStatus.QUEUED, JobStatus.SUCCEEDED)
    report = fairness_read(version=version)
    assert report["recourse_status"] == JobStatus.SUCCEEDED, report["recourse_message"]
    (entry,) = report["inputs"]
    assert {r["group"] for r in entry["recourse"]} == {"female", "male"}
    assert sum(r["rows"] for r in entry["recourse"]) == 40
    assert any(r["median_cost"] is not None for r in entry["recourse"])
    assert VersionReport.objects.filter(version=version).count() == 1


def test_a_favourable_answer_must_be_a_class(clinic_version):
    with pytest.raises(ValidationError, match="Unknown class"):
        version_favourable_set(version=clinic_version, favourable="maybe", user=None)


def test_a_regressor_measures_recourse_towards_a_range(
    diabetes_version, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("registry.fairness.recourse.SAMPLE_ROWS", 20)
    version, _ = version_sensitive_set(
        version=diabetes_version, name="age", sensitive=True, user=None
    )
    with pytest.raises(ValidationError):
        version_favourable_set(version=version, favourable="low", user=None)
    version = version_favourable_set(version=version, favourable={"max": 120}, user=None)
    with django_capture_on_commit_callbacks(execute=True):
        fairness_read(version=version)
    report = fairness_read(version=version)
    assert report["recourse_status"] == JobStatus.SUCCEEDED, report["recourse_message"]
    (entry,) = report["inputs"]
    assert sum(r["rows"] for r in entry["recourse"]) == 20
    assert all(r["found"] <= r["rows"] for r in entry["recourse"])
    assert any(r["median_cost"] is not None for r in entry["recourse"])


def test_recourse_never_moves_a_sensitive_input(clinic_version, monkeypatch):
    version = _sensitive(clinic_version, "sex", "age")
    version = version_favourable_set(version=version, favourable="no", user=None)
    interface = version_interface(version)
    rows = recourse_rows(version)
    calls = []
    real = recourse.counterfactuals_find

    def watched(**kwargs):  # the real search, its answers kept to be checked
        found = real(**kwargs)
        calls.append((kwargs["row"].iloc[0].to_dict(), found.counterfactuals))
        return found

    monkeypatch.setattr(recourse, "counterfactuals_find", watched)
    recourse.recourse_compute(
        estimator=version_estimator(version),
        interface=interface,
        rows=rows,
        target=counterfactual_target(interface=interface, target="no"),
        budget=3.0,
    )
    assert calls
    for row, found in calls:
        for cf in found:
            assert cf["inputs"]["sex"] == row["sex"] and cf["inputs"]["age"] == row["age"]
