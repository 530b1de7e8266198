import json
import os
import pickle
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
import skops.io as sio
from django.core.files.storage import storages
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.preprocessing import FunctionTransformer

from registry.artifacts.store import (
    ArtifactError,
    artifact_read,
    artifact_store,
    estimator_cache,
    estimator_from_bytes,
    estimator_load,
    is_trusted_type,
)

ROOT = Path(__file__).resolve().parents[2]


class Payload:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "code-ran"
    yield path
    assert not path.exists(), "loading the file ran code"


def test_a_pipeline_with_a_random_forest_loads(clinic_forest_bytes, clinic_frame):
    estimator = estimator_from_bytes(clinic_forest_bytes)
    assert estimator.predict(clinic_frame.drop(columns="high_risk").head(3)).shape == (3,)


def test_gradient_boosting_and_forest_regressors_load(iris_frame):
    X = iris_frame.drop(columns="species")
    for model in (
        GradientBoostingClassifier(n_estimators=5).fit(X, iris_frame["species"]),
        RandomForestRegressor(n_estimators=5).fit(X.iloc[:, 1:], X.iloc[:, 0]),
    ):
        assert type(estimator_from_bytes(sio.dumps(model))) is type(model)


def test_a_pickle_is_refused_without_running_it(marker):
    with pytest.raises(ArtifactError, match="not a skops file"):
        estimator_from_bytes(pickle.dumps(Payload(marker)))


def test_a_pickle_inside_a_zip_is_refused_without_running_it(marker):
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", "{}")
        archive.writestr("payload.pkl", pickle.dumps(Payload(marker)))
    with pytest.raises(ArtifactError, match="cannot be read"):
        estimator_from_bytes(buffer.getvalue())


def test_a_skops_file_naming_os_system_is_refused_with_the_type_named(marker):
    hostile = sio.dumps(FunctionTransformer(func=os.system, kw_args={"command": f"touch {marker}"}))
    with pytest.raises(ArtifactError) as caught:
        estimator_from_bytes(hostile)
    assert "posix.system" in caught.value.reason
    assert "allow-list" in caught.value.reason


def test_a_skops_file_without_an_estimator_is_refused():
    with pytest.raises(ArtifactError, match="holds a dict, not a fitted estimator"):
        estimator_from_bytes(sio.dumps({"weights": [1, 2, 3]}))


def test_an_empty_file_is_refused():
    with pytest.raises(ArtifactError, match="empty"):
        estimator_from_bytes(b"")


def test_the_same_bytes_are_stored_once_under_their_sha256(clinic_forest_bytes):
    first = artifact_store(data=clinic_forest_bytes)
    second = artifact_store(data=clinic_forest_bytes)
    assert first == second
    assert first.path.endswith(f"{first.sha256}.skops")
    assert artifact_read(path=first.path, sha256=first.sha256) == clinic_forest_bytes


def test_an_altered_file_is_detected(clinic_forest_bytes, settings):
    stored = artifact_store(data=clinic_forest_bytes)
    with pytest.raises(ArtifactError, match="altered"):
        artifact_read(path=stored.path, sha256="0" * 64)


def test_a_loaded_estimator_is_cached_by_sha256(clinic_forest_bytes):
    stored = artifact_store(data=clinic_forest_bytes)
    first = estimator_load(path=stored.path, sha256=stored.sha256)
    assert stored.sha256 in estimator_cache
    # The second load must not read the file: it is gone, and the answer still comes.
    storages["artifacts"].delete(stored.path)
    assert estimator_load(path=stored.path, sha256=stored.sha256) is first


def test_the_cache_is_bounded():
    from registry.artifacts.store import EstimatorCache

    cache = EstimatorCache(size=2)
    for key in ("a", "b", "c"):
        cache.put(key, object())
    assert "a" not in cache and "b" in cache and "c" in cache


def test_every_estimator_skops_would_trust_by_default_is_on_our_allow_list():
    # The portal imports skops without its default list of every scikit-learn estimator
    # (registry.artifacts.store._import_skops_io); our allow-list must take each of them instead,
    # so that the same files load as with skops' default.
    from sklearn.utils import all_estimators
    from skops.io._utils import get_type_name

    names = [get_type_name(cls) for _, cls in all_estimators()]
    names = [name for name in names if name.startswith("sklearn.")]
    assert len(names) > 150
    assert [name for name in names if not is_trusted_type(name)] == []


def test_a_fresh_process_loads_a_model_as_before_without_importing_all_of_sklearn(
    clinic_forest_bytes, clinic_frame, tmp_path
):
    artifact = tmp_path / "forest.skops"
    artifact.write_bytes(clinic_forest_bytes)
    rows = clinic_frame.drop(columns="high_risk").head(20)
    rows.to_pickle(tmp_path / "rows.pkl")  # our own test data, read back by our own code
    code = (
        "import os, sys, django, pandas as pd; "
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.settings'; django.setup(); "
        "from registry.artifacts.store import estimator_from_bytes; "
        "from skops.io import _trusted_types; "
        "assert _trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES == []; "
        "assert 'sklearn.gaussian_process' not in sys.modules; "
        f"model = estimator_from_bytes(open({str(artifact)!r}, 'rb').read()); "
        f"rows = pd.read_pickle({str(tmp_path / 'rows.pkl')!r}); "
        "print(model.predict_proba(rows).tolist())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    expected = estimator_from_bytes(clinic_forest_bytes).predict_proba(rows).tolist()
    assert json.loads(out) == expected
