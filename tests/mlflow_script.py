"""MLflow's side of the import tests, run in .venv-mlflow (never imported by the portal).

    python tests/mlflow_script.py log OUT            log and register the models, save dirs
    python tests/mlflow_script.py predict ROWS.json URI [URI …]

The tracking server is MLFLOW_TRACKING_URI. Each command prints one JSON document.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import sklearn
import skops
from mlflow import MlflowClient
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

warnings.filterwarnings("ignore")
DISTRICTS = ["north", "south", "east", "west"]
# Given, so MLflow does not infer them by loading each model again in a subprocess (slow).
REQUIREMENTS = [f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}"]


def houses() -> tuple[pd.DataFrame, np.ndarray]:
    """Houses with a numeric area, a whole number of rooms and a district; sold or not."""
    rng = np.random.default_rng(7)
    n = 300
    frame = pd.DataFrame(
        {
            "area": rng.normal(90, 25, n).round(1),
            "rooms": rng.integers(1, 7, n),
            "district": rng.choice(DISTRICTS, n),
        }
    )
    lift = frame["district"].map({"north": 1.0, "south": -0.5, "east": 0.0, "west": 0.5})
    score = 0.03 * frame["area"] + 0.4 * frame["rooms"] + lift + rng.normal(0, 1, n)
    return frame, np.where(score > 4.6, "sold", "unsold")


def pipeline(final) -> object:
    return make_pipeline(
        ColumnTransformer(
            [
                ("scale", StandardScaler(), ["area", "rooms"]),
                ("onehot", OneHotEncoder(handle_unknown="ignore"), ["district"]),
            ]
        ),
        final,
    )


def log(out: Path) -> dict:
    X, y = houses()
    out.mkdir(parents=True, exist_ok=True)
    X.assign(sold=y).to_csv(out / "houses.csv", index=False)
    # Two rows of each district: a realistic example that shows every category.
    example = pd.concat([X[X["district"] == d].head(2) for d in DISTRICTS])
    mlflow.set_experiment("houses")
    runs = {}
    for params, final in (
        ({"C": 1.0}, LogisticRegression()),
        # MLflow refuses to save a tree model as skops without skops_trusted_types (a forged
        # tree can crash predict); a second linear model keeps this script honest and simple.
        ({"C": 0.05, "class_weight": "balanced"}, LogisticRegression()),
    ):
        final.set_params(**params)
        model = pipeline(final).fit(X, y)
        with mlflow.start_run() as run:
            mlflow.log_params(params)
            mlflow.log_metric("accuracy", model.score(X, y))
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                input_example=example,
                pip_requirements=REQUIREMENTS,
                registered_model_name="houses",
            )
        runs[info.registered_model_version] = {
            "run_id": run.info.run_id,
            "accuracy": model.score(X, y),
            "params": {k: str(v) for k, v in params.items()},
        }
    client = MlflowClient()
    client.set_registered_model_alias("houses", "champion", 1)
    client.set_registered_model_tag("houses", "team", "pricing")
    client.update_registered_model("houses", description="Will the house sell within 90 days?")
    client.set_model_version_tag("houses", "2", "validated", "yes")
    client.update_model_version("houses", "2", description="Balanced classes: fewer missed sales.")

    # A pickled model, registered like any other: the import must refuse it unread.
    pickled = pipeline(LogisticRegression()).fit(X, y)
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            pickled,
            name="model",
            serialization_format="cloudpickle",
            input_example=example,
            pip_requirements=REQUIREMENTS,
            registered_model_name="houses-pickled",
        )
    # Logged with a three-row example that shows two of the four districts: the model was
    # trained on all four, and none of them may be refused (issue 20, the 'Biscoe' defect).
    thin = X[X["district"].isin(["north", "south"])].head(3)
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            pipeline(LogisticRegression()).fit(X, y),
            name="model",
            input_example=thin,
            pip_requirements=REQUIREMENTS,
            registered_model_name="houses-thin",
        )
    # The same models as directories, for register_model --mlflow-model and the API's zip.
    first = pipeline(LogisticRegression(C=1.0)).fit(X, y)
    mlflow.sklearn.save_model(
        first, out / "dir-skops", input_example=example, pip_requirements=REQUIREMENTS
    )
    mlflow.sklearn.save_model(
        pickled,
        out / "dir-pickle",
        serialization_format="cloudpickle",
        input_example=example,
        pip_requirements=REQUIREMENTS,
    )
    flavors(out, X, y)
    return {"runs": runs, "data": str(out / "houses.csv")}


def flavors(out: Path, X: pd.DataFrame, y: np.ndarray) -> None:
    """MLflow's xgboost, lightgbm and onnx flavors (issue 20) on the two number inputs, as
    directories and one registered booster. Class index 1 is "unsold", the second of the
    sorted labels: the order the portal names a booster's classes in."""
    import lightgbm as lgb
    import mlflow.lightgbm
    import mlflow.onnx
    import mlflow.xgboost
    import xgboost as xgb
    from skl2onnx import to_onnx

    numbers = X[["area", "rooms"]].astype("float64")
    example = numbers.head(3)
    label = (y == "unsold").astype(int)
    needs = {"pip_requirements": REQUIREMENTS}
    params = {"objective": "binary:logistic", "max_depth": 3, "seed": 0, "nthread": 1}
    booster = xgb.train(params, xgb.DMatrix(numbers, label=label), num_boost_round=20)
    mlflow.xgboost.save_model(
        booster, out / "dir-xgboost", model_format="json", input_example=example, **needs
    )
    params = {"objective": "binary", "num_leaves": 7, "verbose": -1, "seed": 0}
    lgbm = lgb.train(params, lgb.Dataset(numbers, label), num_boost_round=20)
    mlflow.lightgbm.save_model(lgbm, out / "dir-lightgbm", input_example=example, **needs)
    # MLflow saves LightGBM's scikit-learn estimator in skops: refused, the booster is asked for.
    wrapped = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(numbers, y)
    mlflow.lightgbm.save_model(
        wrapped, out / "dir-lightgbm-sklearn", input_example=example, **needs
    )
    linear = make_pipeline(StandardScaler(), LogisticRegression())
    linear.fit(numbers.to_numpy("float32"), y)
    graph = to_onnx(
        linear,
        numbers.to_numpy("float32")[:1],
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    mlflow.onnx.save_model(graph, out / "dir-onnx", **needs)
    with mlflow.start_run():
        mlflow.xgboost.log_model(
            booster,
            name="model",
            model_format="json",
            input_example=example,
            registered_model_name="houses-xgboost",
            **needs,
        )


def predict(rows_path: Path, uris: list[str]) -> dict:
    rows = pd.DataFrame(json.loads(rows_path.read_text()))
    answers = {}
    for uri in uris:
        labels = mlflow.pyfunc.load_model(uri).predict(rows)
        proba = mlflow.sklearn.load_model(uri).predict_proba(rows)
        answers[uri] = {"labels": [str(v) for v in labels], "proba": proba.tolist()}
    return answers


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "log":
        result = log(Path(args[0]))
    elif command == "predict":
        result = predict(Path(args[0]), args[1:])
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
