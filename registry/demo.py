"""Demo models trained from data that ships with scikit-learn (nothing is downloaded).

Each model is trained on 70% of its data set; the other 30% is its reference data, so the
metrics the registry computes are honest held-out figures.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


@dataclass
class DemoVersion:
    estimator: object
    notes: str
    file: bytes | None = None  # a native model's own file (registry/kinds); else skops


@dataclass
class Demo:
    name: str
    title: str
    description: str
    target: str
    tags: list[str]
    train: pd.DataFrame
    reference: pd.DataFrame
    versions: list[DemoVersion]
    units: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)
    # Hard limits (the interface's min/max): values no person or sample can have, refused
    # rather than answered. The training range only warns; these stop BMI 400 or age 150.
    limits: dict[str, tuple[float, float]] = field(default_factory=dict)

    def artifact(self, version: DemoVersion) -> bytes:
        return version.file if version.file is not None else sio.dumps(version.estimator)

    def reference_csv(self) -> bytes:
        buffer = io.StringIO()
        self.reference.to_csv(buffer, index=False)
        return buffer.getvalue().encode()


def _split(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    stratify = (
        frame[target]
        if frame[target].dtype == object or str(frame[target].dtype) == "str"
        else None
    )
    train, reference = train_test_split(frame, test_size=0.3, random_state=0, stratify=stratify)
    return train.reset_index(drop=True), reference.reset_index(drop=True)


def _snake(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def _twice_the_largest(frame: pd.DataFrame, target: str) -> dict[str, tuple[float, float]]:
    """Limits for measurements with no published physical bound: never negative, and at most
    twice the largest value of the whole study (rounded up to two significant figures)."""
    limits = {}
    for name in frame.columns.drop(target):
        high = 2 * float(frame[name].max())
        digits = 1 - int(np.floor(np.log10(high)))
        limits[name] = (0.0, float(np.ceil(high * 10**digits) / 10**digits))
    return limits


def breast_cancer() -> Demo:
    data = load_breast_cancer(as_frame=True)
    frame = data.data.rename(columns=_snake)
    frame["diagnosis"] = data.target.map(dict(enumerate(data.target_names))).astype(object)
    train, reference = _split(frame, "diagnosis")
    X, y = train.drop(columns="diagnosis"), train["diagnosis"]
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.5)).fit(X, y)
    boosting = GradientBoostingClassifier(n_estimators=150, max_depth=2, random_state=0).fit(X, y)
    return Demo(
        name="breast-cancer",
        title="Breast cancer diagnosis",
        description=(
            "Classifies a breast mass as benign or malignant from 30 measurements of cell "
            "nuclei in a fine-needle aspirate image (Wisconsin diagnostic data set)."
        ),
        target="diagnosis",
        tags=["health", "binary"],
        train=train,
        reference=reference,
        versions=[
            DemoVersion(logistic, "Scaled logistic regression, C=0.5."),
            DemoVersion(boosting, "Gradient boosting, 150 trees of depth 2."),
        ],
        units={},
        limits=_twice_the_largest(frame, "diagnosis"),
    )


def _lightgbm(X: pd.DataFrame, y: pd.Series, rounds: int = 60) -> DemoVersion:
    """A LightGBM booster, registered as its own text file (the lightgbm kind); its classes
    are the target's values sorted, as the registry labels a booster's class indices."""
    import lightgbm

    from registry.artifacts.store import estimator_from_bytes

    classes = sorted(y.unique())
    params = {
        "objective": "multiclass",
        "num_class": len(classes),
        "num_leaves": 8,
        "min_data_in_leaf": 5,
        "verbose": -1,
        "num_threads": 1,
        "seed": 0,
        "deterministic": True,
    }
    codes = y.map({c: i for i, c in enumerate(classes)})
    booster = lightgbm.train(params, lightgbm.Dataset(X, codes), num_boost_round=rounds)
    text = booster.model_to_string().encode()
    return DemoVersion(
        estimator_from_bytes(text).labelled(classes),
        f"LightGBM booster, {rounds} rounds of 8 leaves, saved as LightGBM text.",
        file=text,
    )


def wine() -> Demo:
    data = load_wine(as_frame=True)
    frame = data.data.rename(columns=lambda c: _snake(c).replace("/", "_per_"))
    frame["cultivar"] = data.target.map(lambda i: f"Cultivar {i + 1}").astype(object)
    train, reference = _split(frame, "cultivar")
    X, y = train.drop(columns="cultivar"), train["cultivar"]
    forest = RandomForestClassifier(n_estimators=120, max_depth=6, random_state=0).fit(X, y)
    return Demo(
        name="wine",
        title="Wine cultivar",
        description=(
            "Tells which of three cultivars an Italian wine comes from, by 13 results of its "
            "chemical analysis."
        ),
        target="cultivar",
        tags=["food", "multiclass"],
        train=train,
        reference=reference,
        versions=[DemoVersion(forest, "Random forest, 120 trees of depth 6."), _lightgbm(X, y)],
        units={"alcohol": "%vol", "magnesium": "mg/l", "proline": "mg/l"},
        labels={
            "od280_per_od315_of_diluted_wines": "OD280/OD315 of diluted wines",
            "alcalinity_of_ash": "Alcalinity of ash",
        },
        # What a wine's analysis can give: fermentation stops near 16 %vol (fortified wines
        # reach 22); the other results are concentrations far above any wine's.
        limits={
            "alcohol": (0, 25),
            "malic_acid": (0, 10),
            "ash": (0, 6),
            "alcalinity_of_ash": (0, 60),
            "magnesium": (0, 300),
            "total_phenols": (0, 10),
            "flavanoids": (0, 10),
            "nonflavanoid_phenols": (0, 2),
            "proanthocyanins": (0, 6),
            "color_intensity": (0, 20),
            "hue": (0, 3),
            "od280_per_od315_of_diluted_wines": (0, 6),
            "proline": (0, 4000),
        },
    )


def diabetes() -> Demo:
    data = load_diabetes(as_frame=True, scaled=False)
    names = {
        "s1": "total_cholesterol",
        "s2": "ldl",
        "s3": "hdl",
        "s4": "cholesterol_ratio",
        "s5": "log_triglycerides",
        "s6": "blood_sugar",
        "bp": "blood_pressure",
    }
    frame = data.data.rename(columns=names)
    frame["age"] = frame["age"].astype("int64")
    frame["sex"] = frame["sex"].map({1.0: "female", 2.0: "male"}).astype(object)
    frame["progression"] = data.target
    train, reference = _split(frame, "progression")
    X, y = train.drop(columns="progression"), train["progression"]
    numeric = [c for c in X.columns if c != "sex"]

    def fitted(estimator):
        scaled = ColumnTransformer(
            [
                ("scale", StandardScaler(), numeric),
                ("sex", OneHotEncoder(handle_unknown="ignore"), ["sex"]),
            ]
        )
        return make_pipeline(scaled, estimator).fit(X, y)

    pipeline = fitted(
        GradientBoostingRegressor(n_estimators=150, max_depth=2, learning_rate=0.05, random_state=0)
    )
    # A second version of another kind, so the diabetes model can be compared and diffed
    # with itself (it has no peer of its task among the demos).
    ridge = fitted(Ridge(alpha=1.0))
    return Demo(
        name="diabetes",
        title="Diabetes progression",
        description=(
            "Predicts a quantitative measure of diabetes progression one year after baseline "
            "from age, sex, body-mass index, blood pressure and six blood serum measurements."
        ),
        target="progression",
        tags=["health", "regression"],
        train=train,
        reference=reference,
        versions=[
            DemoVersion(pipeline, "Scaling + one-hot sex, gradient boosting."),
            DemoVersion(ridge, "Scaling + one-hot sex, ridge (linear) regression."),
        ],
        units={
            "age": "years",
            "bmi": "kg/m²",
            "blood_pressure": "mmHg",
            "total_cholesterol": "mg/dl",
            "ldl": "mg/dl",
            "hdl": "mg/dl",
            "blood_sugar": "mg/dl",
        },
        # The study's patients are adults; past these values no living patient is measured
        # (blood pressure is the mean arterial pressure; log_triglycerides is ln of mg/dl).
        limits={
            "age": (18, 120),
            "bmi": (10, 90),
            "blood_pressure": (30, 200),
            "total_cholesterol": (50, 600),
            "ldl": (10, 500),
            "hdl": (5, 200),
            "cholesterol_ratio": (1, 20),
            "log_triglycerides": (2.3, 8.5),
            "blood_sugar": (20, 600),
        },
    )


DEMOS: list[Callable[[], Demo]] = [breast_cancer, wine, diabetes]


# ---------------------------------------------------------------- demo traffic
TRAFFIC_DAYS = 30
CALLS_PER_DAY = 100
# The demo's drift: from a week ago, the diabetes model is asked about heavier patients
# (body-mass index up by two standard deviations, as if a weight clinic now referred them),
# so the monitoring page has a drift to show.
SHIFTED_MODEL, SHIFTED_INPUT, SHIFT_SD, SHIFT_DAYS = "diabetes", "bmi", 2.0, 7


@contextmanager
def backdated(model: type) -> Iterator[None]:
    """Let ``bulk_create`` keep the ``created_at`` it is given (seeding history only).

    Backdated predictions may land in days already summed for monitoring: the rollup is
    dropped and summed again from the answers (``registry.monitoring.traffic_days_fill``).
    """
    field_ = model._meta.get_field("created_at")
    field_.auto_now_add = False
    try:
        yield
    finally:
        field_.auto_now_add = True
        from registry.models import Prediction, TrafficDay

        if model is Prediction:
            TrafficDay.objects.all().delete()


def traffic_seed(*, demo: Demo, version: Any, now: dt.datetime, seed: int = 0) -> int:
    """Store ``TRAFFIC_DAYS`` days of plausible API answers for a demo version.

    Rows are drawn from the training rows (the population the model serves), answered by the
    model itself in one call, spread over the day with a daytime peak; one call in twenty
    sends several rows. A fifth of the answers older than three days have feedback (the
    row's true outcome). Refused calls are counted as the API counts them. Returns the
    number of answers stored.
    """
    from registry.inference import score
    from registry.interface import Interface, frame_records
    from registry.models import Prediction, Source, Usage
    from registry.runtime import version_estimator

    rng = np.random.default_rng(seed)
    interface = Interface(version.interface)
    calls = TRAFFIC_DAYS * CALLS_PER_DAY
    sizes = np.where(rng.random(calls) < 0.05, rng.integers(2, 12, calls), 1)
    picks = rng.integers(0, len(demo.train), int(sizes.sum()))
    rows = demo.train.iloc[picks].reset_index(drop=True)
    # Times: each day's calls peak in the afternoon; the newest call is a few minutes ago.
    day = rng.integers(0, TRAFFIC_DAYS, calls)
    hour = np.clip(rng.normal(14, 4, calls), 0, 23.99)
    ages = np.sort(day * 86400.0 + (24 - hour) * 3600.0 + 300)[::-1]
    moments = [now - dt.timedelta(seconds=float(s)) for s in ages]
    row_moment = np.repeat(ages, sizes)
    if demo.name == SHIFTED_MODEL:
        recent = row_moment < SHIFT_DAYS * 86400
        sd = demo.train[SHIFTED_INPUT].std()
        rows.loc[recent, SHIFTED_INPUT] = (rows.loc[recent, SHIFTED_INPUT] + SHIFT_SD * sd).round(1)
    inputs = frame_records(rows[interface.names])
    frame = interface.validate(inputs).frame
    answers = score(version_estimator(version), frame, interface).records()
    truth = rows[demo.target].tolist()
    latency = rng.lognormal(np.log(2.0), 0.35, calls)
    records, start = [], 0
    for i, n in enumerate(sizes):
        end = start + int(n)
        labelled = ages[i] > 3 * 86400 and rng.random() < 0.2
        actual = [_plain(v) for v in truth[start:end]]
        records.append(
            Prediction(
                version=version,
                source=Source.API,
                inputs=inputs[start:end],
                outputs=answers[start:end],
                row_count=int(n),
                latency_ms=round(float(latency[i]) * (1 + 0.05 * n), 3),
                created_at=moments[i],
                feedback=(actual if n > 1 else actual[0]) if labelled else None,
                feedback_at=moments[i] + dt.timedelta(days=2) if labelled else None,
            )
        )
        start = end
    with backdated(Prediction):
        Prediction.objects.bulk_create(records, batch_size=1000)
    refused = rng.poisson(1.5, TRAFFIC_DAYS)
    Usage.objects.bulk_create(
        Usage(version=version, day=(now - dt.timedelta(days=d)).date(), kind="refused.api", count=c)
        for d, c in enumerate(refused)
        if c
    )
    return calls


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
