# ruff: noqa: E402  (Django must be set up before the registry is imported)
"""Explanation time for one answer at 10 and 30 inputs: tree ensembles and a linear pipeline,
and each native kind (XGBoost and LightGBM boosters, an ONNX graph).

    .venv/bin/python bench/explain_time.py [--repeats 60] [--shap] [--kinds sklearn native]

Models are trained here on synthetic data with a fifth of the inputs categorical (one-hot
encoded in the pipeline), registered through the real service on a throwaway SQLite database,
and explained two ways: ``explain()`` alone (the registry function), and the server time of
``POST /api/v1/models/{name}/explain/`` with ``chart: true`` through the whole Django stack
in-process (token auth, validation, explanation, waterfall, JSON). Prints p50/p90/p99 in ms
(wall clock, and the CPU time of explain(), which a loaded shared machine inflates less), and
checks additivity on every answer. ``--shap`` also times shap's TreeExplainer on the
forest's encoded columns (what it would take to use it instead).

The native kinds take numbers only: their rows have the categorical columns as codes 0/1/2.
Each is registered from its own file (XGBoost JSON, LightGBM text, ONNX from skl2onnx, a dev
requirement) and explained the same way, as the portal serves it.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="model-portal-bench-"))
os.environ.setdefault("TASK_BACKEND", "immediate")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# An explanation scores hundreds of rows: the per-user row budget would stop the run.
os.environ.setdefault("PORTAL_ROW_RATE", "100000000/min")
os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp(prefix="model-portal-static-"))

import django

django.setup()

import skops.io as sio
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from bench._setup import percentiles
from registry.catalog.services import model_version_register
from registry.explain.explanations import explain, explanation_background
from registry.interface import frame_records
from registry.runtime import version_estimator, version_interface


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


def numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """The categorical columns as codes 0/1/2: what a booster or an ONNX graph takes."""
    codes = {"a": 0, "b": 1, "c": 2}
    return frame.assign(**{c: frame[c].map(codes) for c in frame.columns if c.startswith("c")})


def native_file(kind: str, frame: pd.DataFrame, target: pd.Series) -> bytes:
    """A 100-round booster (or a 100-tree forest as ONNX) trained on ``frame``."""
    codes = target.map({name: i for i, name in enumerate(sorted(target.unique()))})
    if kind == "xgboost":
        import xgboost as xgb

        params = {"objective": "multi:softprob", "num_class": 3, "max_depth": 6, "seed": 0}
        booster = xgb.train(params, xgb.DMatrix(frame, label=codes), num_boost_round=100)
        return bytes(booster.save_raw(raw_format="json"))
    if kind == "lightgbm":
        import lightgbm as lgb

        params = {"objective": "multiclass", "num_class": 3, "verbose": -1, "seed": 0}
        return lgb.train(params, lgb.Dataset(frame, codes), 100).model_to_string().encode()
    from skl2onnx import to_onnx

    forest = RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0)
    X = frame.to_numpy(dtype="float32")
    forest.fit(X, target)
    options = {id(forest): {"zipmap": False}}
    graph = to_onnx(forest, X[:1], options=options, target_opset={"": 17, "ai.onnx.ml": 3})
    return graph.SerializeToString()


NATIVE = {
    "xgboost booster (100 rounds)": "xgboost",
    "lightgbm booster (100 rounds)": "lightgbm",
    "onnx forest (100 trees)": "onnx",
}


def register(name: str, artifact: bytes, frame: pd.DataFrame, target: pd.Series):
    buffer = io.StringIO()
    frame.assign(y=target).to_csv(buffer, index=False)
    return model_version_register(
        name=name, artifact=artifact, reference=buffer.getvalue().encode(), target="y"
    )


def api_client() -> Client:
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench")
    user.groups.add(Group.objects.get(name="analyst"))
    token = Token.objects.create(user=user)
    return Client(headers={"Authorization": f"Token {token.key}"}, SERVER_NAME="localhost")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--shap", action="store_true")
    parser.add_argument(
        "--kinds", nargs="+", choices=["sklearn", "native"], default=["sklearn", "native"]
    )
    args = parser.parse_args()
    client = api_client()
    print(
        f"{'':<38} {'method':<8} {'explain() p50':>13} {'p90':>6} {'CPU p50':>8}   "
        f"{'API p50':>8} {'p90':>6} {'p99':>6}"
    )
    for inputs in (10, 30):
        mixed, target = synthetic(inputs)
        models = [(label, "sklearn", make) for label, make in MODELS.items()]
        models += [(label, kind, None) for label, kind in NATIVE.items()]
        for number, (label, kind, make) in enumerate(models):
            if ("sklearn" if kind == "sklearn" else "native") not in args.kinds:
                continue
            frame = mixed if kind == "sklearn" else numeric(mixed)
            if kind == "sklearn":
                artifact = sio.dumps(pipeline(frame, make()).fit(frame, target))
            else:
                artifact = native_file(kind, frame, target)
            name = f"bench-{inputs}-{number}"
            version = register(name, artifact, frame, target)
            model = version_estimator(version)  # as the portal serves it
            interface = version_interface(version)
            records = frame_records(frame.iloc[:20])
            rows = [interface.validate([r]).frame for r in records]
            background = explanation_background(
                estimator=model, interface=interface, reference=version.reference_sample
            )
            inner, cpu, outer, worst = [], [], [], 0.0
            for i in range(args.repeats):
                started, busy = time.perf_counter(), time.process_time()
                result = explain(
                    estimator=model,
                    interface=interface,
                    row=rows[i % len(rows)],
                    background=background,
                )
                inner.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - busy) * 1000)
                total = result.baseline + sum(c["effect"] for c in result.contributions)
                worst = max(worst, abs(total - result.answer))
            for i in range(args.repeats):
                cache.clear()  # the model-call throttle counts in the cache
                started = time.perf_counter()
                response = client.post(
                    f"/api/v1/models/{name}/explain/",
                    {"inputs": records[i % len(records)], "chart": True},
                    content_type="application/json",
                )
                outer.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.content
                body = response.json()
                total = body["baseline"] + sum(c["effect"] for c in body["contributions"])
                worst = max(worst, abs(total - body["answer"]))
            p, c, q = percentiles(inner), percentiles(cpu), percentiles(outer)
            print(
                f"{inputs:>2} inputs  {label:<28} {result.method:<8} {p['p50']:>13.1f} "
                f"{p['p90']:>6.1f} {c['p50']:>8.1f}   {q['p50']:>8.1f} {q['p90']:>6.1f} "
                f"{q['p99']:>6.1f}   max |baseline+sum-answer| {worst:.0e}"
            )
            if args.shap and label.startswith("random forest"):
                shap_time(model, frame, rows)


def shap_time(model, frame: pd.DataFrame, rows) -> None:
    import shap

    encode, forest = model[:-1], model[-1]
    encoded_background = encode.transform(frame.iloc[:: max(1, len(frame) // 48)])
    explainer = shap.TreeExplainer(forest, data=encoded_background)
    times, cpu = [], []
    for i in range(20):
        started, busy = time.perf_counter(), time.process_time()
        explainer.shap_values(encode.transform(rows[i % len(rows)]))
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - busy) * 1000)
    p, c = percentiles(times), percentiles(cpu)
    print(
        f"{'':>10} shap TreeExplainer, encoded columns, 48 background rows: "
        f"p50 {p['p50']:.1f} ms, CPU p50 {c['p50']:.1f} ms"
    )


if __name__ == "__main__":
    main()
