"""Explanations: effects per raw input that add up to the answer, and match brute force."""

import itertools

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from registry.explain.explanations import (
    Explanation,
    answer_text,
    effect_text,
    explain,
    explanation_background,
    explanation_summary,
)
from registry.interface import Interface, frame_records, interface_infer

NUMBERS = ["age", "bmi", "bp", "s5"]
CATEGORIES = ["sex", "region"]


def encoded(last):
    return make_pipeline(
        ColumnTransformer(
            [
                ("scale", StandardScaler(), NUMBERS),
                ("onehot", OneHotEncoder(handle_unknown="ignore"), CATEGORIES),
            ]
        ),
        last,
    )


@pytest.fixture(scope="module")
def clinic_models(clinic_frame, clinic_forest):
    X, y = clinic_frame.drop(columns="high_risk"), clinic_frame["high_risk"]
    return {
        "linear": encoded(LogisticRegression(max_iter=500)).fit(X, y),
        "forest": clinic_forest,
        "boosting": encoded(GradientBoostingClassifier(n_estimators=30, random_state=0)).fit(X, y),
    }


def setup(model, frame, target):
    interface = interface_infer(estimator=model, reference=frame, target=target)
    background = explanation_background(
        estimator=model, interface=interface, reference=frame_records(frame)
    )
    return interface, background


def one_row(interface, frame, index):
    return interface.validate([frame_records(frame.drop(columns=frame.columns[-1]))[index]]).frame


@pytest.mark.parametrize("kind", ["linear", "forest", "boosting"])
@pytest.mark.parametrize("exact", [True, False])
def test_effects_add_up_to_the_answer_for_categorical_pipelines(
    clinic_models, clinic_frame, kind, exact
):
    model = clinic_models[kind]
    interface, background = setup(model, clinic_frame, "high_risk")
    for index in (0, 7, 123):
        row = one_row(interface, clinic_frame, index)
        result = explain(
            estimator=model, interface=interface, row=row, background=background, exact=exact
        )
        # A binary classifier explains its positive class (the second) whatever the answer,
        # as the pages' curves follow it.
        positive = 1
        assert result.target_class == str(model.classes_[positive])
        proba = model.predict_proba(row)[0][positive]
        assert result.answer == pytest.approx(proba, abs=1e-9)
        assert result.baseline == pytest.approx(
            model.predict_proba(background.frame)[:, positive].mean(), abs=1e-9
        )
        # One effect per raw input: the one-hot encoded sex and region are one entry each.
        assert [c["input"] for c in result.contributions] == interface.names
        total = result.baseline + sum(c["effect"] for c in result.contributions)
        assert abs(total - result.answer) < 1e-6
        assert result.method == ("exact" if exact else "sampled")


def test_a_regression_explains_its_value(diabetes_frame):
    X, y = diabetes_frame.drop(columns="progression"), diabetes_frame["progression"]
    model = LinearRegression().fit(X, y)
    interface, background = setup(model, diabetes_frame, "progression")
    row = interface.validate([frame_records(X)[5]]).frame
    result = explain(estimator=model, interface=interface, row=row, background=background)
    assert result.answer == pytest.approx(model.predict(row)[0])
    assert result.explained == "value of progression"
    total = result.baseline + sum(c["effect"] for c in result.contributions)
    assert abs(total - result.answer) < 1e-6
    # For a linear model an input's exact effect is its coefficient times its distance from
    # the background's mean.
    means = background.frame.mean()
    for c, coef in zip(result.contributions, model.coef_, strict=True):
        assert c["effect"] == pytest.approx(coef * (row[c["input"]].iloc[0] - means[c["input"]]))


def brute_force_shapley(f, x: pd.DataFrame, background: pd.DataFrame) -> list[float]:
    """Shapley values by averaging marginal gains over every order of the inputs."""
    names = list(x.columns)

    def worth(coalition):
        rows = background.copy()
        for name in coalition:
            rows[name] = x[name].iloc[0]
        return float(np.mean(f(rows)))

    effects = dict.fromkeys(names, 0.0)
    orders = list(itertools.permutations(names))
    for order in orders:
        before = []
        for name in order:
            effects[name] += worth([*before, name]) - worth(before)
            before.append(name)
    return [effects[n] / len(orders) for n in names]


def test_exact_effects_match_brute_force_enumeration(iris_frame):
    frame = iris_frame
    X, y = frame.drop(columns="species"), frame["species"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    interface = interface_infer(estimator=model, reference=frame, target="species")
    background = explanation_background(
        estimator=model, interface=interface, reference=frame_records(frame), rows=12
    )
    row = interface.validate([frame_records(X)[60]]).frame
    result = explain(
        estimator=model,
        interface=interface,
        row=row,
        background=background,
        target_class="virginica",
        exact=True,
    )
    index = list(model.classes_).index("virginica")
    expected = brute_force_shapley(
        lambda rows: model.predict_proba(rows)[:, index], row, background.frame
    )
    assert [c["effect"] for c in result.contributions] == pytest.approx(expected, abs=1e-9)
    assert result.explained == "probability of virginica"


def test_sampled_effects_come_close_to_the_exact_ones(clinic_models, clinic_frame):
    model = clinic_models["boosting"]
    interface, background = setup(model, clinic_frame, "high_risk")
    row = one_row(interface, clinic_frame, 42)
    exact = explain(
        estimator=model, interface=interface, row=row, background=background, exact=True
    )
    sampled = explain(
        estimator=model, interface=interface, row=row, background=background, exact=False
    )
    got = np.array([c["effect"] for c in sampled.contributions])
    want = np.array([c["effect"] for c in exact.contributions])
    # Seeded; the largest effect is found, and no effect is off by more than a few points.
    assert np.argmax(np.abs(got)) == np.argmax(np.abs(want))
    assert np.abs(got - want).max() < 0.05


def test_the_same_row_gets_the_same_explanation(clinic_models, clinic_frame):
    model = clinic_models["forest"]
    interface, background = setup(model, clinic_frame, "high_risk")
    row = one_row(interface, clinic_frame, 3)
    first = explain(
        estimator=model, interface=interface, row=row, background=background, exact=False
    )
    again = explain(
        estimator=model, interface=interface, row=row, background=background, exact=False
    )
    assert first.contributions == again.contributions


def test_it_refuses_an_unknown_class(clinic_models, clinic_frame):
    model = clinic_models["linear"]
    interface, background = setup(model, clinic_frame, "high_risk")
    row = one_row(interface, clinic_frame, 0)
    with pytest.raises(ValidationError) as caught:
        explain(
            estimator=model, interface=interface, row=row, background=background, target_class="x"
        )
    assert "class" in caught.value.message_dict


def test_the_summary_reads_from_labels_and_units():
    interface = Interface(
        {
            "inputs": [
                {"name": "bill_length_mm", "type": "number", "label": "Bill length", "unit": "mm"},
                {"name": "island", "type": "category", "choices": ["Dream", "Torgersen"]},
                {
                    "name": "flipper_length_mm",
                    "type": "number",
                    "label": "Flipper length",
                    "unit": "mm",
                },
                {"name": "year", "type": "integer"},
            ],
            "output": {"task": "classification", "classes": ["Adelie", "Gentoo"]},
        }
    )
    explanation = Explanation(
        task="classification",
        explained="probability of Adelie",
        target_class="Adelie",
        answer=0.97,
        baseline=0.58,
        baseline_rows=48,
        method="exact",
        prediction={},
        contributions=[
            {"input": "bill_length_mm", "label": "Bill length", "value": 39.1, "effect": 0.31},
            {"input": "island", "label": "Island", "value": "Torgersen", "effect": 0.12},
            {
                "input": "flipper_length_mm",
                "label": "Flipper length",
                "value": 181.0,
                "effect": -0.04,
            },
            {"input": "year", "label": "Year", "value": 2008, "effect": 0.0},
        ],
    )
    assert explanation_summary(explanation=explanation, interface=interface) == (
        "Adelie (97%), mainly because bill length is 39.1 mm (+31 points) and island is "
        "Torgersen (+12 points); flipper length 181 mm pulled it down (−4 points)."
    )


def test_an_answer_below_the_average_is_explained_by_what_pulled_it_down():
    interface = Interface(
        {
            "inputs": [
                {"name": "bmi", "type": "number", "label": "BMI", "unit": "kg/m²"},
                {"name": "hdl", "type": "number", "label": "HDL"},
                {"name": "smoker", "type": "boolean"},
            ],
            "output": {"task": "regression", "target": "progression"},
        }
    )
    explanation = Explanation(
        task="regression",
        explained="value of progression",
        target_class=None,
        answer=117.3,
        baseline=152.0,
        baseline_rows=48,
        method="exact",
        prediction={},
        contributions=[
            {"input": "bmi", "label": "BMI", "value": 24.2, "effect": -46.0},
            {"input": "hdl", "label": "HDL", "value": 45.0, "effect": 11.3},
            {"input": "smoker", "label": "Smoker", "value": False, "effect": 0.0},
        ],
    )
    assert explanation_summary(explanation=explanation, interface=interface) == (
        "Progression 117.3 (average 152), mainly because BMI is 24.2 kg/m² (−46); "
        "HDL 45 pushed it up (+11.3)."
    )


def test_the_summary_says_a_push_spread_over_many_inputs_is_spread():
    """Two inputs worth +2 points each beside twenty others worth +8 together do not carry
    the answer "mainly" (the breast-cancer answer a reviewer read)."""
    names = ["concave_points", "texture"] + [f"m{i}" for i in range(20)]
    interface = Interface(
        {
            "inputs": [{"name": n, "type": "number"} for n in names],
            "output": {"task": "classification", "classes": ["benign", "malignant"]},
        }
    )
    effects = [0.021, 0.02] + [0.0041] * 20
    explanation = Explanation(
        task="classification",
        explained="probability of malignant",
        target_class="malignant",
        answer=0.37 + sum(effects),
        baseline=0.37,
        baseline_rows=48,
        method="sampled",
        prediction={},
        contributions=[
            {"input": n, "label": n, "value": 1.5, "effect": e}
            for n, e in zip(names, effects, strict=True)
        ],
    )
    summary = explanation_summary(explanation=explanation, interface=interface)
    assert "mainly" not in summary
    assert summary == (
        "malignant (49%), spread over many inputs: concave_points 1.5 (+2 points), texture "
        "1.5 (+2 points) and 20 other inputs (+8 points together)."
    )
    # The same two pushes carrying most of the movement are "mainly" the reason.
    explanation.contributions[2:] = [{**c, "effect": 0.0005} for c in explanation.contributions[2:]]
    assert ", mainly because concave_points is 1.5 (+2 points)" in explanation_summary(
        explanation=explanation, interface=interface
    )


def test_the_sentence_and_the_headline_round_answers_alike():
    assert answer_text(161.37, False) == "161.4"
    assert answer_text(1204.5, False, "kg") == "1,204 kg"
    assert answer_text(0.973, True) == "97%"
    assert effect_text(0.0041 * 20, True) == "+8 points"
    assert effect_text(-0.004, True) == "−0.4 points"
