"""Shared fixtures: small real models trained on data that ships with scikit-learn."""

from __future__ import annotations

import io
import os

import pandas as pd
import pytest
import skops.io as sio
from django.contrib.auth.models import Group, User
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeRegressor

from registry.artifacts.store import estimator_cache
from registry.catalog.services import model_version_register
from registry.releases.watch import release_watch_reset
from registry.runtime import runtime_clear
from tests.mlflow_env import mlflow_server  # noqa: F401 (a fixture for every package)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


@pytest.fixture(scope="session")
def clinic_frame() -> pd.DataFrame:
    """Diabetes data with a categorical sex and region and a yes/no target."""
    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.data[["age", "sex", "bmi", "bp", "s5"]].copy()
    frame["age"] = frame["age"].astype("int64")
    frame["sex"] = frame["sex"].map({1.0: "female", 2.0: "male"}).astype(object)
    frame["region"] = pd.Series(["north", "south", "east"] * 200)[: len(frame)].to_numpy()
    frame["high_risk"] = (data.target > 140).map({True: "yes", False: "no"}).astype(object)
    return frame


@pytest.fixture(scope="session")
def clinic_forest(clinic_frame):
    """A Pipeline: scaling + one-hot encoding in a ColumnTransformer, then a random forest."""
    X, y = clinic_frame.drop(columns="high_risk"), clinic_frame["high_risk"]
    pipeline = make_pipeline(
        ColumnTransformer(
            [
                ("scale", StandardScaler(), ["age", "bmi", "bp", "s5"]),
                ("onehot", OneHotEncoder(handle_unknown="ignore"), ["sex", "region"]),
            ]
        ),
        RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0),
    )
    return pipeline.fit(X, y)


@pytest.fixture(scope="session")
def clinic_logistic_bytes(clinic_frame) -> bytes:
    """The clinic data's other model: the same preparation, then a logistic regression."""
    X, y = clinic_frame.drop(columns="high_risk"), clinic_frame["high_risk"]
    pipeline = make_pipeline(
        ColumnTransformer(
            [
                ("scale", StandardScaler(), ["age", "bmi", "bp", "s5"]),
                ("onehot", OneHotEncoder(handle_unknown="ignore"), ["sex", "region"]),
            ]
        ),
        LogisticRegression(max_iter=1000),
    )
    return sio.dumps(pipeline.fit(X, y))


@pytest.fixture(scope="session")
def clinic_forest_bytes(clinic_forest) -> bytes:
    return sio.dumps(clinic_forest)


@pytest.fixture(scope="session")
def clinic_csv(clinic_frame) -> bytes:
    return csv_bytes(clinic_frame)


@pytest.fixture(scope="session")
def iris_frame() -> pd.DataFrame:
    data = load_iris(as_frame=True)
    frame = data.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame["species"] = data.target.map(dict(enumerate(data.target_names))).astype(object)
    return frame


@pytest.fixture(scope="session")
def iris_logistic_bytes(iris_frame) -> bytes:
    X, y = iris_frame.drop(columns="species"), iris_frame["species"]
    return sio.dumps(make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y))


@pytest.fixture(scope="session")
def diabetes_frame() -> pd.DataFrame:
    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.data[["age", "bmi", "bp"]].copy()
    frame["progression"] = data.target
    return frame


@pytest.fixture(scope="session")
def diabetes_linear_bytes(diabetes_frame) -> bytes:
    X, y = diabetes_frame.drop(columns="progression"), diabetes_frame["progression"]
    return sio.dumps(LinearRegression().fit(X, y))


@pytest.fixture(autouse=True)
def _fresh_estimator_cache():
    """Each test loads estimators as a new process would."""
    estimator_cache.clear()
    runtime_clear()
    yield
    estimator_cache.clear()
    runtime_clear()


@pytest.fixture(autouse=True)
def _fresh_release_watch():
    """Each test's answers see its own releases: what a process remembers of a model's
    shadow and canary (for 5 s) must not outlive the test that made them."""
    release_watch_reset()
    yield
    release_watch_reset()


@pytest.fixture(autouse=True)
def _fresh_shared_cache(request):
    """Throttle counters and login failures live in the shared cache (a database table
    here, which a transactional test's flush leaves alone); each test that uses the
    database starts with none."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(
        request.fixturenames
    )
    if not uses_db:
        yield
        return
    from django.core.cache import caches

    blocker = request.getfixturevalue("django_db_blocker")
    request.getfixturevalue("django_db_setup")
    with blocker.unblock():
        for cache in caches.all():
            cache.clear()
    yield
    with blocker.unblock():
        for cache in caches.all():
            cache.clear()


@pytest.fixture
def rates(settings):
    """``rates(model_rows="25/hour")``: change some throttle rates, keeping the others."""

    def change(**scopes: str) -> None:
        throttles = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**throttles, **scopes},
        }

    return change


@pytest.fixture
def make_user(db):
    def make(username: str = "ana", role: str | None = "analyst", **extra) -> User:
        user = User.objects.create_user(username=username, password="pw-for-tests", **extra)
        if role:
            # get_or_create: a transactional test's flush also empties the groups that the
            # data migration made (tests/registry/test_roles.py checks that it makes them).
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user

    return make


def portal_process_env(data_dir, **settings: str) -> dict[str, str]:
    """The environment for a portal run in processes of its own (gunicorn, workers) over the
    file database in ``data_dir``: this process's, less what pins it to pytest's database and
    event loop, plus ``settings``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATA_DIR=str(data_dir),
        LOG_LEVEL="WARNING",
        **settings,
    )
    return env


def clinic_register(forest_bytes: bytes, csv: bytes):
    """The clinic pipeline registered as the champion of `clinic`."""
    return model_version_register(
        name="clinic", artifact=forest_bytes, reference=csv, target="high_risk", alias="champion"
    )


@pytest.fixture
def clinic_version(db, clinic_forest_bytes, clinic_csv):
    return clinic_register(clinic_forest_bytes, clinic_csv)


@pytest.fixture
def iris_version(db, iris_logistic_bytes, iris_frame):
    return model_version_register(
        name="iris",
        artifact=iris_logistic_bytes,
        reference=csv_bytes(iris_frame),
        target="species",
    )


@pytest.fixture
def diabetes_version(db, diabetes_linear_bytes, diabetes_frame):
    return model_version_register(
        name="diabetes",
        artifact=diabetes_linear_bytes,
        reference=csv_bytes(diabetes_frame),
        target="progression",
    )


# ------------------------------------------------------------------ more versions to compare
LITE_INPUTS = ["age", "bmi", "bp", "region"]


# ------------------------------------------------------------------ models to compare
@pytest.fixture(scope="session")
def clinic_logistic(clinic_frame):
    """Another estimator for the clinic interface: it disagrees with the forest on some rows."""
    X, y = clinic_frame.drop(columns="high_risk"), clinic_frame["high_risk"]
    return make_pipeline(
        ColumnTransformer(
            [
                ("scale", StandardScaler(), ["age", "bmi", "bp", "s5"]),
                ("onehot", OneHotEncoder(handle_unknown="ignore"), ["sex", "region"]),
            ]
        ),
        LogisticRegression(max_iter=500),
    ).fit(X, y)


@pytest.fixture(scope="session")
def lite_frame(clinic_frame):
    """Four of the clinic inputs, patients up to 60 only, and a 'west' region for 'east'."""
    frame = clinic_frame[clinic_frame["age"] <= 60][[*LITE_INPUTS, "high_risk"]].copy()
    frame["region"] = frame["region"].replace({"east": "west"})
    return frame.reset_index(drop=True)


@pytest.fixture(scope="session")
def lite_model(lite_frame):
    X, y = lite_frame[LITE_INPUTS], lite_frame["high_risk"]
    return make_pipeline(
        ColumnTransformer(
            [
                ("scale", StandardScaler(), ["age", "bmi", "bp"]),
                ("onehot", OneHotEncoder(handle_unknown="ignore"), ["region"]),
            ]
        ),
        LogisticRegression(max_iter=500),
    ).fit(X, y)


@pytest.fixture
def clinic_v2(clinic_version, clinic_logistic, clinic_csv):
    return model_version_register(
        name="clinic", artifact=sio.dumps(clinic_logistic), reference=clinic_csv, target="high_risk"
    )


@pytest.fixture
def lite_version(db, lite_model, lite_frame):
    return model_version_register(
        name="clinic-lite",
        artifact=sio.dumps(lite_model),
        reference=csv_bytes(lite_frame),
        target="high_risk",
    )


@pytest.fixture(scope="session")
def diabetes_tree(diabetes_frame):
    X, y = diabetes_frame.drop(columns="progression"), diabetes_frame["progression"]
    return DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, y)


@pytest.fixture
def diabetes_v2(diabetes_version, diabetes_tree, diabetes_frame):
    return model_version_register(
        name="diabetes",
        artifact=sio.dumps(diabetes_tree),
        reference=csv_bytes(diabetes_frame),
        target="progression",
    )


@pytest.fixture
def clinic_lite_v2(clinic_version, lite_model, lite_frame):
    """Version 2 of clinic: four inputs, 'west' for 'east', patients up to 60."""
    return model_version_register(
        name="clinic",
        artifact=sio.dumps(lite_model),
        reference=csv_bytes(lite_frame),
        target="high_risk",
        allow_breaking=True,
    )
