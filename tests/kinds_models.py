"""Small native models trained in the test run (seeded, a second or less), shared by the
tests of registry/kinds: XGBoost and LightGBM boosters and skl2onnx graphs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes, load_iris

NUMERIC_CLINIC = ["age", "bmi", "bp", "s5"]


def iris_frame() -> pd.DataFrame:
    """Iris with readable column names and the species as text (the target)."""
    data = load_iris(as_frame=True)
    frame = data.data.copy()
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    frame["species"] = [data.target_names[i] for i in data.target]
    return frame


def diabetes_frame() -> pd.DataFrame:
    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.data[NUMERIC_CLINIC].copy()
    frame["progression"] = data.target
    return frame


def species_codes(frame: pd.DataFrame) -> np.ndarray:
    """Species as class indices, in sorted order (as the portal labels a booster's classes)."""
    order = sorted(frame["species"].unique())
    return frame["species"].map({name: i for i, name in enumerate(order)}).to_numpy()


def xgboost_classifier(frame: pd.DataFrame):
    import xgboost as xgb

    X = frame.drop(columns="species")
    data = xgb.DMatrix(X, label=species_codes(frame))
    params = {"objective": "multi:softprob", "num_class": 3, "max_depth": 3, "nthread": 1}
    return xgb.train({**params, "seed": 0}, data, num_boost_round=8)


def xgboost_regressor(frame: pd.DataFrame):
    import xgboost as xgb

    data = xgb.DMatrix(frame.drop(columns="progression"), label=frame["progression"])
    params = {"objective": "reg:squarederror", "max_depth": 3, "nthread": 1, "seed": 0}
    return xgb.train(params, data, num_boost_round=10)


def xgboost_binary(frame: pd.DataFrame):
    import xgboost as xgb

    label = (frame["species"] == "virginica").astype(int)
    data = xgb.DMatrix(frame.drop(columns="species").to_numpy(), label=label)
    params = {"objective": "binary:logistic", "max_depth": 2, "nthread": 1, "seed": 0}
    return xgb.train(params, data, num_boost_round=5)


def lightgbm_classifier(frame: pd.DataFrame):
    import lightgbm as lgb

    X = frame.drop(columns="species")
    params = {"objective": "multiclass", "num_class": 3, "num_leaves": 4, "verbose": -1}
    params |= {"num_threads": 1, "seed": 0, "min_data_in_leaf": 5}
    return lgb.train(params, lgb.Dataset(X, species_codes(frame)), num_boost_round=6)


def lightgbm_regressor(frame: pd.DataFrame):
    import lightgbm as lgb

    X = frame.drop(columns="progression")
    params = {"objective": "regression", "num_leaves": 6, "verbose": -1, "num_threads": 1}
    return lgb.train(params | {"seed": 0}, lgb.Dataset(X, frame["progression"]), num_boost_round=8)


def lightgbm_binary(frame: pd.DataFrame):
    import lightgbm as lgb

    label = (frame["species"] == "virginica").astype(int)
    params = {"objective": "binary", "num_leaves": 4, "verbose": -1, "num_threads": 1}
    params |= {"seed": 0, "min_data_in_leaf": 5}
    return lgb.train(params, lgb.Dataset(frame.drop(columns="species"), label), num_boost_round=5)


def onnx_classifier(frame: pd.DataFrame) -> bytes:
    """A scaling + logistic-regression pipeline converted by skl2onnx (one float input)."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = frame.drop(columns="species").to_numpy(dtype="float32")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(X, frame["species"])
    return to_onnx(model, X[:1], target_opset={"": 17, "ai.onnx.ml": 3}).SerializeToString()


def onnx_regressor(frame: pd.DataFrame) -> bytes:
    from skl2onnx import to_onnx
    from sklearn.tree import DecisionTreeRegressor

    X = frame.drop(columns="progression").to_numpy(dtype="float32")
    model = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, frame["progression"])
    return to_onnx(model, X[:1], target_opset={"": 17, "ai.onnx.ml": 3}).SerializeToString()


def booster_json(booster) -> bytes:
    return bytes(booster.save_raw(raw_format="json"))


def booster_ubjson(booster) -> bytes:
    return bytes(booster.save_raw(raw_format="ubj"))


def lightgbm_text(booster) -> bytes:
    return booster.model_to_string().encode()
