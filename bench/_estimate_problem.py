"""Seeded simulations with a known P(y|x) for bench/monitoring_estimates.py (and the NannyML
runner beside it): a covariate shift only, so an estimate from the inputs can be right.

Each problem: a model trained on 3,000 rows of the reference distribution; 500 fresh
labelled reference rows (what a version stores, PORTAL_REFERENCE_SAMPLE_ROWS); then 20
periods of 500 rows whose inputs move a little further each period, labels drawn from the
same P(y|x). Plain numpy, pandas and scikit-learn: both venvs have them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier

FEATURES = ["x1", "x2", "x3", "x4"]
PERIODS = 20
PERIOD_ROWS = 500
REFERENCE_ROWS = 500
TRAIN_ROWS = 3000
# Each period's mean of x1..x4 moves towards this (in SDs) by the last period.
SHIFT = np.array([1.2, -0.8, 0.5, 0.0])


def _inputs(rng: np.random.Generator, n: int, shift: float) -> pd.DataFrame:
    x = rng.normal(size=(n, len(FEATURES))) + shift * SHIFT
    return pd.DataFrame(x, columns=FEATURES)


def true_probability(x: pd.DataFrame) -> np.ndarray:
    """P(y = 1 | x): a logistic of a non-linear score (the forest is not told)."""
    score = 1.5 * x.x1 - x.x2 + 0.8 * x.x1 * x.x3 + 0.5 * x.x4**2 - 0.5
    return 1 / (1 + np.exp(-score.to_numpy()))


def true_value(rng: np.random.Generator, x: pd.DataFrame) -> np.ndarray:
    """y: a smooth function plus noise whose spread grows with |x1| (errors move with x)."""
    mean = 2 * x.x1 + np.sin(2 * x.x2) + 0.5 * x.x3**2 - x.x4
    noise = rng.normal(size=len(x)) * (0.3 + 0.7 * np.abs(x.x1.to_numpy()))
    return mean.to_numpy() + noise


def classification(seed: int):
    """(reference frame, [period frames]) with columns x1..x4, y, pred, proba (class 1)."""
    rng = np.random.default_rng(seed)
    train = _inputs(rng, TRAIN_ROWS, 0.0)
    y = rng.random(TRAIN_ROWS) < true_probability(train)
    model = RandomForestClassifier(
        n_estimators=100, min_samples_leaf=5, random_state=seed, n_jobs=1
    ).fit(train, y)

    def frame(shift: float, n: int) -> pd.DataFrame:
        x = _inputs(rng, n, shift)
        proba = model.predict_proba(x)[:, 1]
        return x.assign(
            y=(rng.random(n) < true_probability(x)).astype(int),
            pred=(proba >= 0.5).astype(int),
            proba=proba,
        )

    reference = frame(0.0, REFERENCE_ROWS)
    periods = [frame(t / (PERIODS - 1), PERIOD_ROWS) for t in range(PERIODS)]
    return reference, periods


def regression(seed: int):
    """(reference frame, [period frames]) with columns x1..x4, y, pred."""
    rng = np.random.default_rng(seed)
    train = _inputs(rng, TRAIN_ROWS, 0.0)
    model = GradientBoostingRegressor(n_estimators=150, max_depth=3, random_state=seed).fit(
        train, true_value(rng, train)
    )

    def frame(shift: float, n: int) -> pd.DataFrame:
        x = _inputs(rng, n, shift)
        return x.assign(y=true_value(rng, x), pred=model.predict(x))

    reference = frame(0.0, REFERENCE_ROWS)
    periods = [frame(t / (PERIODS - 1), PERIOD_ROWS) for t in range(PERIODS)]
    return reference, periods
