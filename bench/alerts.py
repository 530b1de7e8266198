"""Alert evaluation for 100 models: the time of one pass of the checker over every rule.

    .venv/bin/python bench/alerts.py              # 100 models, one rule of each kind each
    MODELS=300 .venv/bin/python bench/alerts.py

Registers one small classifier (iris, logistic regression) under MODELS names, stores 300
one-row API answers for each (a third with feedback) over the last day, gives each model one
rule of each of the five kinds, then times ``alerts_evaluate_all`` (as the worker's task and
``manage.py check_alerts`` run it): first with every cache empty (each version's estimator
and calibration built, each status computed), then again (statuses and finished windows
cached, as on the worker's next pass). Prints the time per pass and per rule.
"""

import datetime as dt
import io
import os
import sys
import time

from _setup import django_with_demo

django_with_demo()

import numpy as np  # noqa: E402
import skops.io as sio  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from registry.alerts.services import alert_rule_create, alerts_evaluate_all  # noqa: E402
from registry.catalog.services import model_version_register  # noqa: E402
from registry.demo import backdated  # noqa: E402
from registry.inference import score  # noqa: E402
from registry.models import AlertRule, Prediction  # noqa: E402
from registry.runtime import (  # noqa: E402
    runtime_clear,
    version_estimator,
    version_interface,
)

MODELS = int(os.environ.get("MODELS", "100"))
ANSWERS = 300

data = load_iris(as_frame=True)
frame = data.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
frame["species"] = data.target.map(dict(enumerate(data.target_names))).astype(object)
X, y = frame.drop(columns="species"), frame["species"]
artifact = sio.dumps(LogisticRegression(max_iter=500).fit(X, y))
buffer = io.StringIO()
frame.to_csv(buffer, index=False)
reference = buffer.getvalue().encode()

started = time.perf_counter()
rng = np.random.default_rng(0)
now = timezone.now()
for i in range(MODELS):
    version = model_version_register(
        name=f"iris-{i:03d}", artifact=artifact, reference=reference, target="species"
    )
    interface = version_interface(version)
    picks = rng.integers(0, len(frame), ANSWERS)
    rows = X.iloc[picks].to_dict("records")
    estimator = version_estimator(version)
    answers = score(estimator, interface.validate(rows).frame, interface).records()
    records = [
        Prediction(
            version=version,
            source="api",
            inputs=[row],
            outputs=[answer],
            row_count=1,
            latency_ms=float(rng.lognormal(0.7, 0.5)),
            created_at=now - dt.timedelta(hours=float(rng.uniform(0, 23))),
            feedback=[str(y.iloc[p])] if k % 3 == 0 else None,
        )
        for k, (row, answer, p) in enumerate(zip(rows, answers, picks, strict=True))
    ]
    with backdated(Prediction):
        Prediction.objects.bulk_create(records)
    for when, threshold in (
        ("drift", None),
        ("performance", None),
        ("estimated_performance", None),
        ("latency_p99", 50.0),
        ("refused_rate", 0.1),
    ):
        alert_rule_create(model=version.model, when=when, threshold=threshold, user=None)
print(
    f"{MODELS} models, {AlertRule.objects.count()} rules, {ANSWERS} answers each "
    f"(set up in {time.perf_counter() - started:.0f} s)"
)


def one_pass(label: str) -> None:
    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        counts = alerts_evaluate_all()
        took = time.perf_counter() - began
    rules = counts["checked"] + counts["failed"]
    print(
        f"  {label:<34}{took:>7.2f} s  {took / rules * 1000:>6.1f} ms/rule  "
        f"{len(queries)} queries  {counts}"
    )


for each in caches.all():
    each.clear()
runtime_clear()
one_pass("every cache empty")
one_pass("again (statuses, windows cached)")
sys.stdout.flush()
firing = AlertRule.objects.filter(state="firing")
print(f"firing after the passes: {sorted({(r.when, r.message[:80]) for r in firing})[:5]}")
