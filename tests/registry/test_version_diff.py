"""What differs between two versions of one model: interface, parameters, metrics."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from registry.compare.comparison import model_version_diff


def test_it_lists_added_removed_and_changed_inputs(clinic_version, clinic_lite_v2):
    diff = model_version_diff(a=clinic_version, b=clinic_lite_v2)
    by_name = {i.name: i for i in diff.inputs}
    assert {n: i.status for n, i in by_name.items()} == {
        "age": "changed",
        "bmi": "changed",
        "bp": "changed",
        "region": "changed",
        "sex": "removed",
        "s5": "removed",
    }
    assert by_name["region"].changes == [
        "accepts west too",
        "no longer accepts east",
        "default 'north' → 'south'",
    ]
    assert by_name["age"].changes[0] == "training range 19–79 → 19–60"
    assert by_name["sex"].a == "category: female, male" and by_name["sex"].b == "–"
    # Both directions, in interface_compare's own words.
    assert "Input 'sex' was removed." in diff.forward.breaking
    assert "Input 'region' no longer accepts east." in diff.forward.breaking
    assert "Input 'sex' was added (required)." in diff.backward.breaking
    assert "Input 'region' no longer accepts west." in diff.backward.breaking
    assert diff.output == []


def test_it_lists_parameter_and_metric_differences(clinic_version, clinic_lite_v2):
    diff = model_version_diff(a=clinic_version, b=clinic_lite_v2)
    params = {p.key: (p.a, p.b) for p in diff.params}
    assert params["randomforestclassifier__n_estimators"] == (20, None)
    assert params["logisticregression__max_iter"] == (None, 500)
    assert "memory" not in params  # the same in both
    assert diff.params_same >= 1
    metrics = {m.key: m for m in diff.metrics}
    accuracy = metrics["accuracy"]
    assert accuracy.a == clinic_version.metrics["accuracy"]
    assert accuracy.b == clinic_lite_v2.metrics["accuracy"]
    assert accuracy.delta == pytest.approx(accuracy.b - accuracy.a)


def test_a_version_against_itself_has_no_differences(clinic_version):
    diff = model_version_diff(a=clinic_version, b=clinic_version)
    assert diff.inputs_changed == [] and diff.params == [] and diff.output == []
    assert diff.forward.breaking == diff.forward.notes == []
    assert {m.delta for m in diff.metrics} == {0.0}


def test_it_refuses_versions_of_two_models(clinic_version, iris_version):
    with pytest.raises(ValidationError):
        model_version_diff(a=clinic_version, b=iris_version)


def test_the_parameters_leave_out_scikit_learns_plumbing(clinic_version, clinic_lite_v2):
    """A pipeline's step list ("list") and scikit-learn's "deprecated" placeholder are no
    settings a person chose: the diff leaves them out."""
    clinic_version.params = {**clinic_version.params, "steps": "list", "x__penalty": "deprecated"}
    diff = model_version_diff(a=clinic_version, b=clinic_lite_v2)
    shown = {p.key: (p.a, p.b) for p in diff.params}
    assert "steps" not in shown and "x__penalty" not in shown
    assert "deprecated" not in {v for pair in shown.values() for v in pair}
