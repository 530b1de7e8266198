"""What would it take: every answer reaches the target and keeps to the interface."""

import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from sklearn.linear_model import LinearRegression

from registry.explain.counterfactuals import (
    Target,
    counterfactual_target,
    counterfactual_text,
    counterfactuals_find,
)
from registry.interface import Interface, frame_records, interface_infer


@pytest.fixture(scope="module")
def clinic(clinic_frame, clinic_forest):
    interface = interface_infer(estimator=clinic_forest, reference=clinic_frame, target="high_risk")
    reference = interface.validate(frame_records(clinic_frame[interface.names])).frame
    return clinic_forest, interface, reference


def row_of(interface, frame, index):
    return interface.validate([frame_records(frame[interface.names])[index]]).frame


def rows_answered(model, frame, label, count):
    """Indexes of reference rows the model answers with ``label``."""
    labels = model.predict(frame.drop(columns="high_risk"))
    return [i for i, got in enumerate(labels) if got == label][:count]


def search(clinic, row, target="yes", **kwargs):
    model, interface, reference = clinic
    return counterfactuals_find(
        estimator=model,
        interface=interface,
        row=row,
        target=Target(label=target),
        reference=reference,
        **kwargs,
    )


def test_every_answer_gets_the_target_when_rescored(clinic, clinic_frame):
    model, interface, _ = clinic
    found_any = 0
    for index in rows_answered(model, clinic_frame, "no", 8):
        row = row_of(interface, clinic_frame, index)
        result = search(clinic, row, max_changes=2, count=3)
        found_any += bool(result.counterfactuals)
        assert len(result.counterfactuals) <= 3
        costs = [c["cost"] for c in result.counterfactuals]
        assert costs == sorted(costs)
        for answer in result.counterfactuals:
            # Re-scored here, independently of the search.
            assert model.predict(pd.DataFrame([answer["inputs"]]))[0] == "yes"
            assert answer["prediction"]["label"] == "yes"
            assert 1 <= len(answer["changes"]) <= 2
            moved = {k for k, v in answer["inputs"].items() if v != row[k].iloc[0]}
            assert moved == {c["input"] for c in answer["changes"]}
            # Inside the interface: numbers within the observed range, known categories.
            interface.validate([answer["inputs"]])
            for name in moved:
                f = interface.by_name[name]
                if f.type in ("number", "integer"):
                    assert f.observed_min <= answer["inputs"][name] <= f.observed_max
    assert found_any >= 6


def test_fixed_and_not_actionable_inputs_never_move(clinic, clinic_frame):
    model, interface, reference = clinic
    spec = interface.to_dict()
    for item in spec["inputs"]:
        if item["name"] == "bmi":
            item["actionable"] = False
    locked = Interface(spec)
    for index in rows_answered(model, clinic_frame, "no", 5):
        row = row_of(locked, clinic_frame, index)
        result = counterfactuals_find(
            estimator=model,
            interface=locked,
            row=row,
            target=Target(label="yes"),
            reference=reference,
            fixed=["s5", "sex"],
            max_changes=3,
        )
        for answer in result.counterfactuals:
            for name in ("bmi", "s5", "sex"):
                assert answer["inputs"][name] == row[name].iloc[0]


def test_directions_are_respected(clinic, clinic_frame):
    model, interface, reference = clinic
    spec = interface.to_dict()
    for item in spec["inputs"]:
        if item["name"] == "age":
            item["direction"] = "increase"
        if item["name"] == "bmi":
            item["direction"] = "decrease"
    directed = Interface(spec)
    seen = 0
    for index in rows_answered(model, clinic_frame, "no", 6):
        row = row_of(directed, clinic_frame, index)
        result = counterfactuals_find(
            estimator=model,
            interface=directed,
            row=row,
            target=Target(label="yes"),
            reference=reference,
            max_changes=3,
            count=5,
        )
        for answer in result.counterfactuals:
            seen += 1
            assert answer["inputs"]["age"] >= row["age"].iloc[0]
            assert answer["inputs"]["bmi"] <= row["bmi"].iloc[0]
    assert seen


def test_none_found_says_what_was_searched(clinic, clinic_frame):
    model, interface, _reference = clinic
    index = rows_answered(model, clinic_frame, "no", 1)[0]
    row = row_of(interface, clinic_frame, index)
    result = search(clinic, row, fixed=interface.names)
    assert result.counterfactuals == []
    assert "No input can change" in result.message
    # Only the region may move, one input at a time: the forest barely looks at it.
    result = search(clinic, row, fixed=[n for n in interface.names if n != "region"], max_changes=1)
    assert result.counterfactuals == []
    assert result.message.startswith("No change of ≤ 1 input within the observed ranges")
    labels = ", ".join(f.spec["label"] for f in interface.fields if f.name != "region")
    assert "gets yes" in result.message and f"kept fixed: {labels})" in result.message


def test_a_row_already_at_the_target_needs_no_change(clinic, clinic_frame):
    model, interface, _ = clinic
    index = rows_answered(model, clinic_frame, "yes", 1)[0]
    result = search(clinic, row_of(interface, clinic_frame, index))
    assert result.counterfactuals == []
    assert result.message.startswith("The answer is already yes, ahead of every other class")


def test_a_regressor_reaches_a_range(diabetes_frame):
    X, y = diabetes_frame.drop(columns="progression"), diabetes_frame["progression"]
    model = LinearRegression().fit(X, y)
    interface = interface_infer(estimator=model, reference=diabetes_frame, target="progression")
    row = interface.validate([frame_records(X)[0]]).frame
    now = model.predict(row)[0]
    target = counterfactual_target(interface=interface, target={"min": now + 30})
    result = counterfactuals_find(estimator=model, interface=interface, row=row, target=target)
    assert result.counterfactuals
    for answer in result.counterfactuals:
        assert model.predict(pd.DataFrame([answer["inputs"]]))[0] >= now + 30


@pytest.mark.parametrize(
    "target",
    [None, "maybe", {"min": 1}],
)
def test_a_classifier_target_must_be_a_known_class(clinic, target):
    _, interface, _ = clinic
    with pytest.raises(ValidationError) as caught:
        counterfactual_target(interface=interface, target=target)
    assert "target" in caught.value.message_dict


@pytest.mark.parametrize("bad", [{"min": "a"}, {"max": float("nan")}, {"min": 3, "max": 1}, 5])
def test_a_regression_target_must_be_a_range(diabetes_frame, bad):
    X, y = diabetes_frame.drop(columns="progression"), diabetes_frame["progression"]
    interface = interface_infer(
        estimator=LinearRegression().fit(X, y), reference=diabetes_frame, target="progression"
    )
    with pytest.raises(ValidationError) as caught:
        counterfactual_target(interface=interface, target=bad)
    assert "target" in caught.value.message_dict


def test_a_change_reads_as_a_sentence():
    change = {
        "input": "flipper_length_mm",
        "label": "Flipper length",
        "from": 181,
        "to": 214,
        "unit": "mm",
    }
    assert counterfactual_text(change) == "change flipper length 181 → 214 mm"


def test_every_answer_leads_the_next_class_by_the_margin(clinic, clinic_frame):
    """A coin flip is not the target: each answer's class is ahead by the margin asked."""
    model, interface, _ = clinic
    checked = 0
    for index in rows_answered(model, clinic_frame, "no", 6):
        row = row_of(interface, clinic_frame, index)
        for points in (5, 20):
            result = counterfactuals_find(
                estimator=model,
                interface=interface,
                row=row,
                target=counterfactual_target(interface=interface, target="yes", margin=points),
                reference=clinic[2],
            )
            assert result.needed == points / 100
            for answer in result.counterfactuals:
                p = model.predict_proba(pd.DataFrame([answer["inputs"]]))[0]
                yes = list(model.classes_).index("yes")
                assert p[yes] - p[1 - yes] >= points / 100 - 1e-9
                checked += 1
    assert checked >= 6


def test_a_bare_win_is_not_already_at_the_target(clinic, clinic_frame):
    """A row the model answers "yes" by less than the margin is searched, not called done."""
    model, interface, reference = clinic
    frame = clinic_frame.drop(columns="high_risk")
    lead = 2 * model.predict_proba(frame)[:, list(model.classes_).index("yes")] - 1
    index = int(min(range(len(lead)), key=lambda i: lead[i] if lead[i] > 0 else 9))
    assert 0 < lead[index] < 0.05  # "yes", by a hair
    row = row_of(interface, clinic_frame, index)
    result = search(clinic, row, target="yes")  # the default margin, 5 points
    assert result.message == "" and result.counterfactuals
    bare = counterfactual_target(interface=interface, target="yes", margin=0)
    result = counterfactuals_find(
        estimator=model, interface=interface, row=row, target=bare, reference=reference
    )
    assert result.message == "The answer is already yes."


def test_a_regressor_lands_inside_the_range_not_on_its_edge(diabetes_frame):
    X, y = diabetes_frame.drop(columns="progression"), diabetes_frame["progression"]
    model = LinearRegression().fit(X, y)
    interface = interface_infer(estimator=model, reference=diabetes_frame, target="progression")
    row = interface.validate([frame_records(X)[0]]).frame
    now = float(model.predict(row)[0])
    target = counterfactual_target(
        interface=interface, target={"min": now + 20, "max": now + 60}, margin=10
    )
    result = counterfactuals_find(estimator=model, interface=interface, row=row, target=target)
    assert result.needed == pytest.approx(4.0)  # 10% of a 40-wide range
    assert result.counterfactuals
    for answer in result.counterfactuals:
        value = model.predict(pd.DataFrame([answer["inputs"]]))[0]
        assert now + 24 - 1e-6 <= value <= now + 56 + 1e-6


@pytest.mark.parametrize("margin", [-1, 51, float("nan"), True])
def test_the_margin_must_be_a_number_of_points(clinic, margin):
    _, interface, _ = clinic
    with pytest.raises(ValidationError) as caught:
        counterfactual_target(interface=interface, target="yes", margin=margin)
    assert "margin" in caught.value.message_dict
