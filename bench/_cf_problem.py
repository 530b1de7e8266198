"""The counterfactual benchmark's problem, built the same way in the portal's venv and in the
bench-only venv that runs DiCE (numpy, pandas and scikit-learn only; same pinned versions, so
both train the very same forest)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

INPUTS = 10
FIXED = ["c1"]  # a category the person cannot change
INCREASE_ONLY = "x5"  # may only go up (like age)
MAX_CHANGES = 2
COUNT = 3


def problem(rows: int = 800, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, object]:
    """Ten inputs (eight numbers, two categories), three classes 0/1/2, a forest pipeline."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {f"x{i}": rng.normal(size=rows).round(2) for i in range(INPUTS - 2)}
        | {f"c{i}": rng.choice(["a", "b", "c"], size=rows).astype(object) for i in range(2)}
    )
    signal = (
        frame["x0"]
        + 0.6 * frame["x1"]
        - 0.8 * frame["x2"] * (frame["c0"] == "a")
        + 0.4 * frame["x5"]
        + 0.3 * (frame["c1"] == "b")
    )
    target = pd.Series(np.digitize(signal, [-0.6, 0.6]), name="y").astype("int64")
    numbers = [c for c in frame.columns if c.startswith("x")]
    model = make_pipeline(
        ColumnTransformer(
            [
                ("scale", StandardScaler(), numbers),
                ("onehot", OneHotEncoder(handle_unknown="ignore"), ["c0", "c1"]),
            ]
        ),
        RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0),
    ).fit(frame, target)
    return frame, target, model


def queries(frame: pd.DataFrame, model, count: int = 100) -> tuple[pd.DataFrame, list[int]]:
    """The first ``count`` reference rows, each asked for its second most probable class."""
    rows = frame.iloc[:count].reset_index(drop=True)
    proba = model.predict_proba(rows)
    targets = [int(model.classes_[np.argsort(p)[-2]]) for p in proba]
    return rows, targets
