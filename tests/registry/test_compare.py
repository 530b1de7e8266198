"""Comparison plans: which sets of versions can be compared, the union of their inputs, one
row through all of them, and their disagreement on shared reference rows."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression

from registry.catalog.selectors import model_version_parse
from registry.catalog.services import model_version_register
from registry.compare.comparison import (
    DISAGREEMENT_ROWS,
    comparison_plan,
    comparison_predict,
    comparison_reference,
    comparison_whatif,
)
from registry.interface import InvalidInput
from registry.models import Prediction, Usage
from tests.conftest import LITE_INPUTS

ROW = {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93.0, "s5": 4.6, "region": "north"}


def reasons(excinfo) -> list[str]:
    return excinfo.value.message_dict["models"]


# ------------------------------------------------------------------ which sets
def test_it_refuses_fewer_than_two_versions(clinic_version):
    with pytest.raises(ValidationError) as excinfo:
        comparison_plan(versions=[clinic_version])
    assert reasons(excinfo) == ["Choose at least 2 models to compare (got 1)."]


def test_it_refuses_more_than_six_versions(clinic_version, clinic_forest_bytes):
    versions = [clinic_version] + [
        model_version_register(
            name="clinic", artifact=clinic_forest_bytes, interface=clinic_version.interface
        )
        for _ in range(6)
    ]
    with pytest.raises(ValidationError) as excinfo:
        comparison_plan(versions=versions)
    assert reasons(excinfo) == ["Compare at most 6 models at once (got 7)."]
    assert len(comparison_plan(versions=versions[:6]).members) == 6


def test_it_refuses_one_version_named_twice(clinic_v2):
    champion = model_version_parse(spec="clinic@champion")
    first = model_version_parse(spec="clinic@1")
    with pytest.raises(ValidationError) as excinfo:
        comparison_plan(versions=[champion, clinic_v2, first], labels=["clinic@champion", "2", "1"])
    assert reasons(excinfo) == [
        "clinic@champion and 1 are the same version (clinic@1): name each version once."
    ]


def test_the_api_may_name_one_version_twice(clinic_v2):
    champion = model_version_parse(spec="clinic@champion")
    plan = comparison_plan(
        versions=[champion, model_version_parse(spec="clinic@1")],
        labels=["clinic@champion", "clinic@1"],
        repeats=True,
    )
    assert plan.labels == ["clinic@champion", "clinic@1"]


def test_it_refuses_models_of_different_tasks(clinic_version, diabetes_version):
    with pytest.raises(ValidationError) as excinfo:
        comparison_plan(versions=[clinic_version, diabetes_version])
    assert reasons(excinfo) == [
        "Compare models of one task: clinic@1 is classification; diabetes@1 is regression.",
        "Input 'age' is an integer in clinic@1 but a number in diabetes@1.",
    ]


def test_it_refuses_models_that_share_no_input(clinic_version, iris_version):
    with pytest.raises(ValidationError) as excinfo:
        comparison_plan(versions=[clinic_version, iris_version])
    assert reasons(excinfo) == [
        "These models share no input, so one form cannot drive them: clinic@1 takes age, "
        "sex, bmi, bp, s5, region; iris@1 takes sepal_length, sepal_width, petal_length, "
        "petal_width."
    ]


def test_it_refuses_an_input_whose_type_differs(clinic_version, clinic_forest_bytes):
    interface = {**clinic_version.interface}
    interface["inputs"] = [
        {**spec, "type": "number"} if spec["name"] == "age" else spec
        for spec in interface["inputs"]
    ]
    other = model_version_register(
        name="clinic-float", artifact=clinic_forest_bytes, interface=interface
    )
    with pytest.raises(ValidationError) as excinfo:
        comparison_plan(versions=[clinic_version, other])
    assert reasons(excinfo) == [
        "Input 'age' is an integer in clinic@1 but a number in clinic-float@1."
    ]


# ------------------------------------------------------------------ the union of inputs
def test_the_union_takes_every_input_with_merged_choices_and_ranges(clinic_version, lite_version):
    plan = comparison_plan(versions=[clinic_version, lite_version])
    assert plan.interface.names == ["age", "sex", "bmi", "bp", "s5", "region"]
    assert plan.shared == LITE_INPUTS
    assert plan.used_by["sex"] == ["clinic@1"]
    assert plan.used_by["age"] == ["clinic@1", "clinic-lite@1"]
    assert plan.interface.by_name["region"].choices == ["east", "north", "south", "west"]
    age = plan.interface.by_name["age"]
    assert (age.observed_min, age.observed_max) == (19, 79)
    assert lite_version.interface["inputs"][0]["observed_max"] == 60
    assert plan.notes == [
        "Not every model knows each choice of 'region': east (only clinic@1), "
        "west (only clinic-lite@1)."
    ]


# ------------------------------------------------------------------ one row through all
def test_each_version_answers_from_its_own_inputs(clinic_version, lite_version, lite_model):
    plan = comparison_plan(versions=[clinic_version, lite_version])
    clinic, lite = comparison_predict(plan=plan, rows=[ROW], user=None, source="api")
    assert clinic.rows == [ROW]
    assert lite.rows == [{k: ROW[k] for k in LITE_INPUTS}]
    expected = lite_model.predict_proba(lite.frame)[0]
    assert lite.predictions[0]["probabilities"] == {
        "no": round(expected[0], 6),
        "yes": round(expected[1], 6),
    }
    assert Prediction.objects.get(version=lite_version).inputs == lite.rows


def test_a_field_no_version_takes_is_unknown_and_nothing_is_stored(clinic_version, lite_version):
    plan = comparison_plan(versions=[clinic_version, lite_version])
    with pytest.raises(InvalidInput) as excinfo:
        comparison_predict(plan=plan, rows=[{**ROW, "weight": 80}], user=None, source="api")
    assert excinfo.value.row_errors == {0: {"weight": ["Unknown field."]}}
    assert not Prediction.objects.exists()


def test_errors_name_the_versions_that_refuse(clinic_version, lite_version):
    plan = comparison_plan(versions=[clinic_version, lite_version])
    with pytest.raises(InvalidInput) as excinfo:
        comparison_predict(
            plan=plan, rows=[ROW, {**ROW, "region": "west", "bmi": "fat"}], user=None, source="api"
        )
    assert excinfo.value.row_errors == {
        1: {
            "bmi": ["Enter a number."],
            "region": [
                "clinic@1: Select a valid choice. 'west' is not one of: east, north, south."
            ],
        }
    }
    assert not Prediction.objects.exists()


def test_the_sweeps_of_all_versions_share_their_x_values(clinic_version, lite_version):
    plan = comparison_plan(versions=[clinic_version, lite_version])
    result = comparison_whatif(plan=plan, row=ROW, user=None, source="page", points=10)
    clinic, lite = ({c["feature"]: c for c in curves} for curves in result.curves)
    assert clinic["age"]["values"] == lite["age"]["values"]
    assert (clinic["age"]["values"][0], clinic["age"]["values"][-1]) == (19, 79)
    assert clinic["region"]["values"] == ["east", "north", "south"]
    assert lite["region"]["values"] == ["north", "south", "west"]
    assert "sex" not in lite
    assert result.row() == ROW
    assert not Prediction.objects.exists()
    assert sorted(Usage.objects.values_list("version__model__name", "count")) == [
        ("clinic", 1),
        ("clinic-lite", 1),
    ]


def test_range_warnings_name_the_versions_they_concern(clinic_version, lite_version):
    plan = comparison_plan(versions=[clinic_version, lite_version])
    result = comparison_whatif(plan=plan, row={**ROW, "age": 70}, user=None, source="page")
    assert result.warnings() == {
        "age": [
            "clinic-lite@1: 70 is outside the training range 19–60; the answer is an extrapolation."
        ]
    }


# ------------------------------------------------------------------ on the reference data
def test_two_classifiers_disagree_where_an_independent_count_says(
    clinic_v2, clinic_forest, clinic_logistic, clinic_frame
):
    plan = comparison_plan(versions=[clinic_v2.model.versions.get(number=1), clinic_v2])
    result = comparison_reference(plan=plan)
    assert result.reason == "" and result.skipped == []
    assert result.labels == ["clinic@1", "clinic@2"]
    X = clinic_frame.drop(columns="high_risk")
    forest, logistic = clinic_forest.predict(X), clinic_logistic.predict(X)
    assert result.rows == len(X) and result.left_out == 0
    (pair,) = result.pairs
    differ = np.flatnonzero(forest != logistic)
    assert 0 < pair.count == len(differ)
    assert pair.rate == pytest.approx(len(differ) / len(X))
    assert pair.matrix == skm.confusion_matrix(forest, logistic, labels=["no", "yes"]).tolist()
    assert [r["index"] for r in pair.rows] == differ[:DISAGREEMENT_ROWS].tolist()
    first = pair.rows[0]
    assert first["inputs"] == {
        k: (v.item() if hasattr(v, "item") else v) for k, v in X.iloc[differ[0]].items()
    }
    assert (first["a"], first["b"]) == (forest[differ[0]], logistic[differ[0]])
    y = clinic_frame["high_risk"]
    assert result.metrics["clinic@2"]["accuracy"] == pytest.approx(skm.accuracy_score(y, logistic))


def test_two_regressors_differ_by_what_an_independent_computation_says(
    diabetes_v2, diabetes_tree, diabetes_frame
):
    first = diabetes_v2.model.versions.get(number=1)
    result = comparison_reference(plan=comparison_plan(versions=[first, diabetes_v2]))
    X = diabetes_frame.drop(columns="progression")
    # The same fit as the registered version 1, made again here.
    linear = LinearRegression().fit(X, diabetes_frame["progression"]).predict(X)
    tree = diabetes_tree.predict(X)
    (pair,) = result.pairs
    gap = np.abs(linear - tree)
    assert pair.mean_abs_difference == pytest.approx(gap.mean())
    assert pair.max_abs_difference == pytest.approx(gap.max())
    assert [r["index"] for r in pair.rows] == np.argsort(-gap, kind="stable")[:20].tolist()
    assert pair.rows[0]["difference"] == pytest.approx(
        linear[pair.rows[0]["index"]] - tree[pair.rows[0]["index"]]
    )
    assert result.metrics["diabetes@2"]["r2"] == pytest.approx(
        skm.r2_score(diabetes_frame["progression"], tree)
    )


def test_a_version_whose_inputs_the_rows_lack_is_left_out_with_the_reason(clinic_v2, lite_version):
    # clinic-lite's rows lack sex and s5: with it first, the clinic versions cannot be scored.
    plan = comparison_plan(versions=[lite_version, clinic_v2])
    result = comparison_reference(plan=plan)
    assert result.skipped == [
        "clinic@2 takes inputs the reference rows do not hold (sex, s5): it is left out of "
        "this section."
    ]
    assert (
        result.reason == "Fewer than two of these models can be scored on the same reference rows."
    )
    # The other way round clinic's rows hold every input; lite refuses the 'east' rows.
    plan = comparison_plan(versions=[clinic_v2, lite_version])
    result = comparison_reference(plan=plan)
    assert result.labels == ["clinic@2", "clinic-lite@1"]
    assert result.left_out == 147  # the 'east' rows
    assert result.rows == 442 - 147
