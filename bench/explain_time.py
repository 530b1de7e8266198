"""Explanation time for one answer at 10 and 30 inputs: a tree ensemble and a linear pipeline.

    .venv/bin/python bench/explain_time.py [--repeats 60] [--shap]

Models are trained here on synthetic data with a few categorical inputs (one-hot encoded in
the pipeline) and explained as the API does: one row against the version's background rows.
Prints p50/p90/p99 in ms per model, and checks additivity on every run. ``--shap`` also times
shap's TreeExplainer on the forest's encoded columns (what it would take to use it instead).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django
from django.conf import settings

if not settings.configured:
    settings.configure()
    django.setup()

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from bench._setup import percentiles
from registry.explanations import explain, explanation_background
from registry.interface import frame_records, interface_infer


def synthetic(inputs: int, rows: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """``inputs`` columns: a fifth categorical (3 levels), the rest numbers; a 3-class target."""
    rng = np.random.default_rng(seed)
    cats = max(1, inputs // 5)
    frame = pd.DataFrame(
        {f"x{i}": rng.normal(size=rows).round(2) for i in range(inputs - cats)}
        | {f"c{i}": rng.choice(["a", "b", "c"], size=rows).astype(object) for i in range(cats)}
    )
    signal = frame["x0"] + 0.5 * frame["x1"] - frame["x2"] * (frame["c0"] == "a")
    target = pd.Series(np.digitize(signal, [-0.5, 0.5]), name="y").map({0: "lo", 1: "mid", 2: "hi"})
    return frame, target.astype(object)


def pipeline(frame: pd.DataFrame, last):
    numbers = [c for c in frame.columns if c.startswith("x")]
    categories = [c for c in frame.columns if c.startswith("c")]
    return make_pipeline(
        ColumnTransformer(
            [
                ("scale", StandardScaler(), numbers),
                ("onehot", OneHotEncoder(handle_unknown="ignore"), categories),
            ]
        ),
        last,
    )


MODELS = {
    "random forest (100 trees)": lambda: RandomForestClassifier(
        n_estimators=100, max_depth=8, random_state=0
    ),
    "gradient boosting (hist)": lambda: HistGradientBoostingClassifier(
        max_iter=100, random_state=0
    ),
    "linear (logistic)": lambda: LogisticRegression(max_iter=500),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--shap", action="store_true")
    args = parser.parse_args()
    for inputs in (10, 30):
        frame, target = synthetic(inputs)
        for label, make in MODELS.items():
            model = pipeline(frame, make()).fit(frame, target)
            interface = interface_infer(
                estimator=model, reference=frame.assign(y=target), target="y"
            )
            background = explanation_background(
                estimator=model, interface=interface, reference=frame_records(frame)
            )
            rows = [interface.validate([r]).frame for r in frame_records(frame.iloc[:20])]
            times, worst = [], 0.0
            for i in range(args.repeats):
                row = rows[i % len(rows)]
                started = time.perf_counter()
                result = explain(
                    estimator=model, interface=interface, row=row, background=background
                )
                times.append((time.perf_counter() - started) * 1000)
                total = result.baseline + sum(c["effect"] for c in result.contributions)
                worst = max(worst, abs(total - result.answer))
            p = percentiles(times)
            print(
                f"{inputs:>2} inputs  {label:<28} {result.method:<8} "
                f"p50 {p['p50']:6.1f} ms  p90 {p['p90']:6.1f}  p99 {p['p99']:6.1f}  "
                f"max |baseline+sum-answer| {worst:.1e}"
            )
            if args.shap and label.startswith("random forest"):
                shap_time(model, frame, rows)


def shap_time(model, frame: pd.DataFrame, rows) -> None:
    import shap

    encode, forest = model[:-1], model[-1]
    encoded_background = encode.transform(frame.iloc[:: max(1, len(frame) // 48)])
    explainer = shap.TreeExplainer(forest, data=encoded_background)
    times = []
    for i in range(10):
        started = time.perf_counter()
        explainer.shap_values(encode.transform(rows[i % len(rows)]))
        times.append((time.perf_counter() - started) * 1000)
    p = percentiles(times)
    print(f"{'':>10} shap TreeExplainer (encoded columns, 48 background) p50 {p['p50']:6.1f} ms")


if __name__ == "__main__":
    main()
