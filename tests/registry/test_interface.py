import math

import jsonschema
import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError

from registry.interface import (
    Interface,
    InvalidInput,
    interface_actionability_set,
    interface_compare,
    interface_infer,
)


@pytest.fixture(scope="module")
def clinic(clinic_forest, clinic_frame) -> Interface:
    return interface_infer(estimator=clinic_forest, reference=clinic_frame, target="high_risk")


def good_row(**changes):
    row = {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93.0, "s5": 4.6, "region": "north"}
    row.update(changes)
    return row


def test_it_infers_types_in_the_models_column_order(clinic):
    types = {f.name: f.type for f in clinic.fields}
    assert clinic.names == ["age", "sex", "bmi", "bp", "s5", "region"]
    assert types == {
        "age": "integer",
        "sex": "category",
        "bmi": "number",
        "bp": "number",
        "s5": "number",
        "region": "category",
    }


def test_it_infers_categories_ranges_defaults_and_steps(clinic, clinic_frame):
    sex, bmi, age = clinic.by_name["sex"], clinic.by_name["bmi"], clinic.by_name["age"]
    assert sex.choices == ["female", "male"]
    assert sex.spec["default"] == clinic_frame["sex"].mode()[0]
    assert bmi.observed_min == clinic_frame["bmi"].min()
    assert bmi.observed_max == clinic_frame["bmi"].max()
    assert bmi.spec["default"] == pytest.approx(clinic_frame["bmi"].median(), abs=0.05)
    assert bmi.spec["step"] == 0.1  # the data has one decimal
    assert age.spec["step"] == 1 and age.spec["default"] == round(clinic_frame["age"].median())


def test_it_infers_the_output_classes(clinic):
    assert clinic.output == {
        "task": "classification",
        "target": "high_risk",
        "classes": ["no", "yes"],
    }


def test_it_validates_records_into_a_typed_frame(clinic):
    frame = clinic.validate([good_row(), good_row(age=30, sex="female")]).frame
    assert list(frame.columns) == clinic.names
    assert frame["age"].dtype == np.int64 and frame["bmi"].dtype == np.float64
    assert frame["sex"].tolist() == ["male", "female"]


def test_it_accepts_form_and_csv_strings(clinic):
    row = {k: str(v) for k, v in good_row().items()}
    frame = clinic.validate([row]).frame
    assert frame.loc[0, "bmi"] == 26.4 and frame.loc[0, "age"] == 50


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        (good_row(colour="red"), "colour", "Unknown field."),
        ({k: v for k, v in good_row().items() if k != "bmi"}, "bmi", "This field is required."),
        (good_row(bmi="heavy"), "bmi", "Enter a number."),
        (good_row(bmi=math.nan), "bmi", "Enter a finite number"),
        (good_row(bmi=math.inf), "bmi", "Enter a finite number"),
        (good_row(bmi="NaN"), "bmi", "Enter a finite number"),
        (good_row(bmi=True), "bmi", "Enter a number."),
        (good_row(age=50.5), "age", "Enter a whole number."),
        (good_row(sex="other"), "sex", "is not one of: female, male"),
        (good_row(region=""), "region", "This field is required."),
    ],
)
def test_it_refuses_bad_rows_naming_row_and_field(clinic, row, field, message):
    with pytest.raises(InvalidInput) as caught:
        clinic.validate([good_row(), row])
    errors = caught.value.as_fields()
    assert list(errors) == ["1"]
    assert message in errors["1"][field][0]
    assert caught.value.summary().startswith(f"Row 1: {field}: ")


def test_it_reports_every_bad_row_at_once(clinic):
    with pytest.raises(InvalidInput) as caught:
        clinic.validate([good_row(bmi="x"), good_row(), good_row(sex="robot", age="old")])
    assert caught.value.as_fields() == {
        "0": {"bmi": ["Enter a number."]},
        "2": {
            "age": ["Enter a whole number."],
            "sex": ["Select a valid choice. 'robot' is not one of: female, male."],
        },
    }


def test_it_refuses_an_empty_list_and_a_non_list(clinic):
    with pytest.raises(InvalidInput):
        clinic.validate([])
    with pytest.raises(InvalidInput):
        clinic.validate(good_row())


def test_it_warns_outside_the_training_range_but_answers(clinic):
    high = clinic.by_name["bmi"].observed_max + 10
    validated = clinic.validate([good_row(), good_row(bmi=high)])
    assert len(validated.warnings) == 1
    warning = validated.warnings[0]
    assert warning["row"] == 1 and warning["field"] == "bmi"
    assert "outside the training range" in warning["message"]


def test_hard_limits_refuse_values(clinic):
    spec = clinic.to_dict()
    spec["inputs"][2] = {**spec["inputs"][2], "min": 10, "max": 60}
    limited = Interface(spec)
    with pytest.raises(InvalidInput) as caught:
        limited.validate([good_row(bmi=80)])
    assert caught.value.as_fields()["0"]["bmi"] == ["Ensure this value is at most 60."]


def test_json_schema_accepts_a_good_row_and_refuses_bad_ones(clinic):
    schema = clinic.json_schema()
    jsonschema.validate(good_row(), schema)
    for bad in (good_row(sex="other"), good_row(extra=1), good_row(bmi="x")):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_an_explicit_interface_is_checked():
    with pytest.raises(ValidationError) as caught:
        Interface({"inputs": [{"name": "x", "type": "complex"}], "output": {"task": "magic"}})
    messages = caught.value.message_dict["interface"]
    assert any("type 'complex'" in m for m in messages)
    assert any("output.task" in m for m in messages)


def test_identical_interfaces_are_compatible(clinic):
    assert interface_compare(clinic, Interface(clinic.to_dict())).compatible


def test_removing_an_input_or_a_category_is_breaking(clinic):
    spec = clinic.to_dict()
    fewer = {**spec, "inputs": [i for i in spec["inputs"] if i["name"] != "bp"]}
    changes = interface_compare(clinic, Interface(fewer))
    assert changes.breaking == ["Input 'bp' was removed."]
    narrowed = {
        **spec,
        "inputs": [
            {**i, "choices": ["north", "south"]} if i["name"] == "region" else i
            for i in spec["inputs"]
        ],
    }
    assert interface_compare(clinic, Interface(narrowed)).breaking == [
        "Input 'region' no longer accepts east."
    ]


def test_adding_an_optional_input_or_a_category_is_not_breaking(clinic):
    spec = clinic.to_dict()
    wider = {
        **spec,
        "inputs": [
            *[
                {**i, "choices": [*i["choices"], "west"]} if i["name"] == "region" else i
                for i in spec["inputs"]
            ],
            {"name": "smoker", "type": "boolean", "required": False},
        ],
    }
    changes = interface_compare(clinic, Interface(wider))
    assert changes.compatible
    assert len(changes.notes) == 2


def test_changing_the_output_classes_is_breaking(clinic):
    spec = clinic.to_dict()
    other = {**spec, "output": {**spec["output"], "classes": ["low", "high"]}}
    assert not interface_compare(clinic, Interface(other)).compatible


def test_optional_inputs_travel_as_missing_values():
    spec = {
        "inputs": [
            {"name": "x", "type": "number", "required": False},
            {"name": "flag", "type": "boolean"},
        ],
        "output": {"task": "regression", "target": "y"},
    }
    frame = Interface(spec).validate([{"flag": "yes"}, {"x": 2, "flag": False}]).frame
    assert np.isnan(frame.loc[0, "x"]) and frame.loc[1, "x"] == 2.0
    assert frame["flag"].tolist() == [True, False]


def test_inference_makes_columns_with_gaps_optional():
    frame = pd.DataFrame({"x": [1.5, None, 2.5], "y": [1.0, 2.0, 3.0]})

    class Stub:
        def predict(self, X):
            return X["x"]

    interface = interface_infer(estimator=Stub(), reference=frame, target="y")
    assert interface.by_name["x"].required is False
    assert interface.output["task"] == "regression"


def test_many_rows_give_the_same_frame_and_errors_as_one_at_a_time(clinic):
    rows = [good_row(age=20 + i % 50, bmi=18.0 + i % 20) for i in range(100)]
    frame = clinic.validate(rows).frame
    assert frame["bmi"].tolist() == [r["bmi"] for r in rows]
    assert frame["age"].dtype == np.int64
    bad = [*rows, good_row(bmi=math.nan), good_row(sex="x"), good_row(bmi=True)]
    with pytest.raises(InvalidInput) as caught:
        clinic.validate(bad)
    errors = caught.value.as_fields()
    assert set(errors) == {"100", "101", "102"}
    assert errors["101"]["sex"][0].startswith("Select a valid choice.")
    assert errors["102"]["bmi"] == ["Enter a number."]
    far = [*rows, good_row(bmi=99.0)]
    assert [w["row"] for w in clinic.validate(far).warnings] == [100]


# ---------------------------------------------------------------- actionable and direction
def _spec(**extra):
    return {
        "inputs": [
            {"name": "age", "type": "integer", **extra},
            {"name": "island", "type": "category", "choices": ["a", "b"]},
        ],
        "output": {"task": "regression"},
    }


def test_inputs_are_actionable_in_any_direction_by_default():
    f = Interface(_spec()).by_name["age"]
    assert (f.actionable, f.direction) == (True, "any")


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"actionable": "no"}, "Input 'age': 'actionable' must be true or false."),
        ({"direction": "up"}, "Input 'age': 'direction' must be one of any, increase, decrease"),
    ],
)
def test_it_refuses_a_bad_actionable_or_direction(extra, message):
    with pytest.raises(ValidationError) as caught:
        Interface(_spec(**extra))
    assert caught.value.message_dict["interface"][0].startswith(message)


def test_a_category_has_no_direction():
    spec = _spec()
    spec["inputs"][1]["direction"] = "increase"
    with pytest.raises(ValidationError) as caught:
        Interface(spec)
    assert "only numbers and booleans have a direction" in str(caught.value)


def test_actionability_changes_only_those_fields():
    spec = Interface(_spec()).to_dict()
    updated = interface_actionability_set(spec, {"age": {"direction": "increase"}})
    assert updated["inputs"][0]["direction"] == "increase"
    assert {k: v for k, v in updated["inputs"][0].items() if k != "direction"} == spec["inputs"][0]
    for changes in ({"nope": {"actionable": False}}, {"age": {"type": "number"}}):
        with pytest.raises(ValidationError):
            interface_actionability_set(spec, changes)
