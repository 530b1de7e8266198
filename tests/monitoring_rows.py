"""Stored answers for monitoring tests: rows drawn from a version's reference sample."""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.utils import timezone

from registry.demo import backdated
from registry.models import Prediction, Source
from registry.predict.services import prediction_run


def store_answers(version, rows, *, source=Source.API, latencies=None, feedback=None, ages=None):
    """Stored one-row answers, each ``ages[i]`` hours old (default: spread over a day)."""
    now = timezone.now()
    latencies = latencies if latencies is not None else np.full(len(rows), 2.0)
    records = []
    for i, row in enumerate(rows):
        age = ages[i] if ages is not None else (i % 24) + 0.5
        records.append(
            Prediction(
                version=version,
                source=source,
                inputs=[row],
                outputs=[{"label": "no"}],
                row_count=1,
                latency_ms=float(latencies[i]),
                created_at=now - dt.timedelta(hours=float(age)),
                feedback=None if feedback is None else feedback[i],
            )
        )
    with backdated(Prediction):
        Prediction.objects.bulk_create(records)


def reference_rows(version, n, seed=0):
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(version.reference_sample), n)
    names = [i["name"] for i in version.interface["inputs"]]
    return [{k: version.reference_sample[p][k] for k in names} for p in picks]


def answer_reference_rows(version, user, n):
    """One stored API call answering the first ``n`` reference rows (with probabilities)."""
    names = [i["name"] for i in version.interface["inputs"]]
    rows = [{k: r[k] for k in names} for r in version.reference_sample[:n]]
    return prediction_run(version=version, rows=rows, user=user, source="api")
