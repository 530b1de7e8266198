"""Hostile model files: crafted compiled structures, zip bombs, estimators that read files.

Each file is made the way an attacker would: a real model saved with skops, then its arrays
edited inside the zip.
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from registry.artifacts.store import ArtifactError, estimator_from_bytes


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def edit_arrays(data: bytes, edit) -> bytes:
    """The skops file with ``edit(array)`` applied to each stored array (None: unchanged)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    edited = 0
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename.endswith(".npy"):
                array = np.load(io.BytesIO(body), allow_pickle=False)
                changed = edit(array)
                if changed is not None:
                    buffer = io.BytesIO()
                    np.save(buffer, changed, allow_pickle=False)
                    body, edited = buffer.getvalue(), edited + 1
            target.writestr(info, body)
    assert edited, "the edit matched no array in the file"
    return out.getvalue()


def tree_with_far_child(array):
    if array.dtype.names and "left_child" in array.dtype.names:
        array = array.copy()
        array["left_child"][0] = 1 << 40  # far past the node array, whichever way a row
        array["right_child"][0] = 1 << 40  # goes from the root
        return array
    return None


def test_a_tree_with_a_child_past_its_nodes_crashes_sklearn_and_is_refused(iris, tmp_path):
    X, y = iris
    model = sio.dumps(DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y))
    crafted = edit_arrays(model, tree_with_far_child)
    # The file is truly hostile: loaded as skops would without our checks, predict kills the
    # process with a segmentation fault.
    path = tmp_path / "crafted.skops"
    path.write_bytes(crafted)
    script = textwrap.dedent(
        f"""
        import numpy as np, skops.io as sio
        model = sio.load({str(path)!r}, trusted=sio.get_untrusted_types(file={str(path)!r}))
        model.predict(np.ones((1, 4)))
        """
    )
    crashed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert crashed.returncode < 0, crashed.stderr.decode()[-500:]
    with pytest.raises(ArtifactError, match="child is outside the tree"):
        estimator_from_bytes(crafted)


def test_a_tree_in_a_forest_in_a_pipeline_is_checked(iris):
    X, y = iris
    forest = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=3)).fit(X, y)
    with pytest.raises(ArtifactError, match="outside the tree"):
        estimator_from_bytes(edit_arrays(sio.dumps(forest), tree_with_far_child))


def test_a_tree_with_a_cycle_or_a_foreign_feature_is_refused(iris):
    X, y = iris
    good = sio.dumps(DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y))

    def cycle(array):
        if array.dtype.names and "left_child" in array.dtype.names:
            array = array.copy()
            array["right_child"][0] = 0  # the root is its own child: predict never ends
            return array
        return None

    def feature(array):
        if array.dtype.names and "feature" in array.dtype.names:
            array = array.copy()
            array["feature"][0] = 4000  # a column the input does not have
            return array
        return None

    def threshold(array):
        if array.dtype.names and "threshold" in array.dtype.names:
            array = array.copy()
            array["threshold"][0] = np.nan
            return array
        return None

    with pytest.raises(ArtifactError, match="right child is outside the tree"):
        estimator_from_bytes(edit_arrays(good, cycle))
    with pytest.raises(ArtifactError, match="feature outside the model's 4 inputs"):
        estimator_from_bytes(edit_arrays(good, feature))
    with pytest.raises(ArtifactError, match="threshold is not a finite number"):
        estimator_from_bytes(edit_arrays(good, threshold))


def test_a_histogram_boosting_predictor_with_a_far_child_is_refused(iris):
    X, y = iris
    good = sio.dumps(HistGradientBoostingClassifier(max_iter=3).fit(X, y))
    assert estimator_from_bytes(good).predict(X[:2]).shape == (2,)

    def far(array):
        if array.dtype.names and "bitset_idx" in array.dtype.names:
            array = array.copy()
            array["right"][0] = 10_000_000
            return array
        return None

    with pytest.raises(ArtifactError, match="right child is outside the tree"):
        estimator_from_bytes(edit_arrays(good, far))


def test_a_neighbours_index_that_points_past_its_rows_is_refused(iris):
    X, y = iris
    good = sio.dumps(KNeighborsClassifier(algorithm="kd_tree").fit(X, y))
    assert estimator_from_bytes(good).predict(X[:2]).shape == (2,)

    def far(array):
        if array.dtype.names and "idx_end" in array.dtype.names:
            array = array.copy()
            array["idx_end"][0] = 10_000_000
            return array
        return None

    with pytest.raises(ArtifactError, match="range is outside its rows"):
        estimator_from_bytes(edit_arrays(good, far))


def test_an_svm_with_inconsistent_support_vectors_is_refused(iris):
    X, y = iris
    good = sio.dumps(SVC().fit(X, y))
    assert estimator_from_bytes(good).predict(X[:2]).shape == (2,)
    n_vectors = SVC().fit(X, y).support_vectors_.shape[0]

    def fewer(array):
        if array.ndim == 2 and array.shape[0] == n_vectors and array.shape[1] == 4:
            return array[:5].copy()
        return None

    with pytest.raises(ArtifactError, match="support vector"):
        estimator_from_bytes(edit_arrays(good, fewer))


def zip_bomb(inflated: int) -> bytes:
    """A skops-looking zip whose schema.json deflates from a few KB to ``inflated`` bytes."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z,
        z.open("schema.json", "w", force_zip64=True) as member,
    ):
        block = b" " * (1 << 20)
        for _ in range(inflated >> 20):
            member.write(block)
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_anything_is_unpacked():
    bomb = zip_bomb(256 * 1024 * 1024)  # 256 MiB of spaces in a ~250 KB file
    assert len(bomb) < 1024 * 1024
    with pytest.raises(ArtifactError, match="looks like a zip bomb"):
        estimator_from_bytes(bomb)


def test_a_file_that_unpacks_past_the_limit_is_refused(settings, iris):
    X, y = iris
    model = sio.dumps(LogisticRegression(max_iter=300).fit(X, y))
    settings.PORTAL = {**settings.PORTAL, "MAX_ARTIFACT_UNPACKED_BYTES": 1000}
    with pytest.raises(ArtifactError, match="PORTAL_MAX_ARTIFACT_UNPACKED_BYTES"):
        estimator_from_bytes(model)


def test_a_vectorizer_that_opens_files_by_name_is_refused():
    texts, labels = ["good day", "bad day", "good night", "bad night"], [1, 0, 1, 0]
    fitted = make_pipeline(CountVectorizer(), LogisticRegression()).fit(texts, labels)
    fitted.steps[0][1].input = "filename"  # as an attacker would save it
    with pytest.raises(ArtifactError, match=r"filename.*reads files named by its input"):
        estimator_from_bytes(sio.dumps(fitted))


def test_a_pipeline_with_a_disk_cache_is_refused_and_n_jobs_is_reset(iris, tmp_path):
    X, y = iris
    cached = Pipeline(
        [("scale", StandardScaler()), ("model", LogisticRegression())], memory=str(tmp_path)
    ).fit(X, y)
    with pytest.raises(ArtifactError, match="memory"):
        estimator_from_bytes(sio.dumps(cached))
    forest = RandomForestClassifier(n_estimators=3, n_jobs=500).fit(X, y)
    assert estimator_from_bytes(sio.dumps(forest)).n_jobs is None
