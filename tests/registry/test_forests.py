"""Forests answered in one loop over their trees (registry/forests.py) give scikit-learn's own
answers to the last bit: the portal's answers must not change with the path that computes them."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from registry.forests import forest_answers
from registry.inference import score
from registry.interface import interface_infer

RNG = np.random.default_rng(7)
X = pd.DataFrame(
    {
        "a": RNG.normal(size=300),
        "b": RNG.uniform(0, 10, size=300),
        "c": RNG.choice(["red", "green", "blue"], size=300),
    }
)
Y_BINARY = (X["a"] + (X["c"] == "red") > 0.3).astype(int)
Y_THREE = np.where(X["b"] > 6, "high", np.where(X["a"] > 0, "mid", "low"))
Y_VALUE = X["a"] * 3 + X["b"] + (X["c"] == "blue")


def _pipeline(final):
    prepare = ColumnTransformer(
        [("c", OneHotEncoder(), ["c"])], remainder="passthrough", verbose_feature_names_out=False
    )
    return Pipeline([("prepare", prepare), ("model", final)])


@pytest.mark.parametrize("forest", [RandomForestClassifier, ExtraTreesClassifier])
@pytest.mark.parametrize("y", [Y_BINARY, Y_THREE], ids=["binary", "three classes"])
def test_a_forest_classifier_answers_its_own_probabilities_to_the_last_bit(forest, y):
    bare = forest(n_estimators=30, min_samples_leaf=2, random_state=0).fit(X[["a", "b"]], y)
    piped = _pipeline(forest(n_estimators=30, random_state=1)).fit(X, y)
    for model, rows in ((bare, X[["a", "b"]]), (piped, X)):
        ours = forest_answers(model, rows, proba=True)
        assert ours is not None
        assert np.array_equal(ours, model.predict_proba(rows))


@pytest.mark.parametrize("forest", [RandomForestRegressor, ExtraTreesRegressor])
def test_a_forest_regressor_answers_its_own_values_to_the_last_bit(forest):
    model = _pipeline(forest(n_estimators=25, random_state=0)).fit(X, Y_VALUE)
    ours = forest_answers(model, X, proba=False)
    assert ours is not None
    assert np.array_equal(ours, model.predict(X))


def test_other_models_and_parallel_forests_are_asked_themselves():
    boosted = GradientBoostingClassifier(n_estimators=5).fit(X[["a", "b"]], Y_BINARY)
    parallel = RandomForestClassifier(n_estimators=5, n_jobs=2).fit(X[["a", "b"]], Y_BINARY)
    two_outputs = RandomForestRegressor(n_estimators=5).fit(
        X[["a", "b"]], np.column_stack([Y_VALUE, Y_VALUE])
    )
    assert forest_answers(boosted, X[["a", "b"]], proba=True) is None
    assert forest_answers(parallel, X[["a", "b"]], proba=True) is None
    assert forest_answers(two_outputs, X[["a", "b"]], proba=False) is None


def test_the_portal_scores_a_forest_pipeline_as_scikit_learn_does():
    model = _pipeline(RandomForestClassifier(n_estimators=40, random_state=0)).fit(X, Y_THREE)
    interface = interface_infer(estimator=model, reference=X)
    scores = score(model, interface.validate(X.to_dict("records")), interface)
    expected = model.predict_proba(X)
    assert np.array_equal(scores.probabilities, expected)
    assert scores.labels == list(model.predict(X))
