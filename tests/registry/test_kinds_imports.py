"""XGBoost, LightGBM, ONNX and onnxruntime stay out of a process that serves none of them:
each costs 0.1-1.3 s to import (docs in /work/notes/kinds.md), and a worker that never loads
such a model must not pay it at start-up nor on a scikit-learn request."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import skops.io as sio
from sklearn.linear_model import LogisticRegression

from tests import kinds_models as km

ROOT = Path(__file__).resolve().parents[2]
NATIVE = ("xgboost", "lightgbm", "onnx", "onnxruntime", "skl2onnx")

SCRIPT = """
import os, sys
import django
django.setup()
import numpy as np
import portal.wsgi, portal.urls
from django.urls import get_resolver
from registry.artifacts.store import estimator_from_bytes
from registry.batch import tasks  # noqa
from registry.explain import explanations, counterfactuals  # noqa
from registry.compare import comparison  # noqa
from registry.monitoring import report, rollup  # noqa
get_resolver().url_patterns  # every view module of every face
model = estimator_from_bytes(open(sys.argv[1], "rb").read())
model.predict(np.ones((1, 4)))
print(" ".join(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2:]))))
"""


def _run(path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-c", textwrap.dedent(SCRIPT), str(path), *NATIVE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_serving_a_scikit_learn_model_imports_no_native_library(tmp_path):
    iris = km.iris_frame()
    path = tmp_path / "model.skops"
    path.write_bytes(
        sio.dumps(LogisticRegression(max_iter=300).fit(iris.iloc[:, :4], iris["species"]))
    )
    done = _run(path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""
    imported = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert len(imported) > 500  # -X importtime did report the imports
    assert not [line for line in imported if any(f" {n}" in line.split("|")[-1] for n in NATIVE)]


def test_loading_a_lightgbm_model_imports_lightgbm_only(tmp_path):
    path = tmp_path / "model.txt"
    path.write_bytes(km.lightgbm_text(km.lightgbm_classifier(km.iris_frame())))
    done = _run(path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["lightgbm"]
