# ruff: noqa: E402  (Django must be set up before the registry is imported)
"""Issue 23's figures: dossier time per demo model, fairness figures on 10,000 reference rows,
recourse time per group.

    .venv/bin/python bench/fairness_time.py

On a throwaway SQLite database with the demo models (``seed_demo``). Each demo champion gets
its first input marked sensitive, then its dossier is made twice: cold (metric intervals and
global importance computed, as the first request after a change) and warm (cached per
version). A synthetic binary classifier with 10,000 reference rows (sex and an age band
kept out of the model) gives the fairness figures' time, cold (scoring included) and per
input; its recourse is measured as the worker does (200 rows, per group seconds).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PORTAL_REFERENCE_SAMPLE_ROWS", "10000")

from bench._setup import django_with_demo

django_with_demo()

import datetime as dt
import io

import numpy as np
import pandas as pd
import skops.io as sio
from django.contrib.auth.models import User
from django.utils import timezone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from weasyprint import HTML

from portal.web.dossier import dossier_html
from registry.catalog.selectors import CHAMPION
from registry.catalog.services import model_version_register
from registry.demo import backdated
from registry.dossier.content import dossier_content
from registry.explain.counterfactuals import counterfactual_target
from registry.fairness.recourse import recourse_compute
from registry.fairness.selectors import fairness_report, recourse_rows, reference_rows
from registry.fairness.services import version_favourable_set, version_sensitive_set
from registry.models import Alias, Prediction
from registry.runtime import runtime_clear, version_estimator, version_interface


def dossiers() -> None:
    user = User.objects.create_superuser("bench", password="x")
    print("dossier per demo model (cold: intervals and importance computed; warm: cached)")
    HTML(string="<p>warm-up</p>").write_pdf()  # WeasyPrint's first document loads its fonts
    for alias in Alias.objects.filter(name=CHAMPION).select_related("version__model"):
        version = alias.version
        first = version_interface(version).fields[0].name
        version, _ = version_sensitive_set(version=version, name=first, sensitive=True, user=None)
        runtime_clear()
        for label in ("cold", "warm"):
            t0 = time.perf_counter()
            content = dossier_content(version=version, user=user)
            t1 = time.perf_counter()
            html = dossier_html(content)
            t2 = time.perf_counter()
            pdf = HTML(string=html).write_pdf()
            t3 = time.perf_counter()
            print(
                f"  {version.model.name:14s} {label}: {t3 - t0:5.2f} s = content {t1 - t0:4.2f} "
                f"+ figures and HTML {t2 - t1:4.2f} + PDF {t3 - t2:4.2f}; {len(pdf) / 1024:.0f} KiB"
            )


def synthetic(rows: int = 10_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.normal(40, 12, rows).round(1),
            "debt": rng.gamma(2, 5, rows).round(1),
            "years": rng.integers(0, 30, rows),
            "sex": rng.choice(["female", "male"], rows),
            "region": rng.choice(["north", "south", "east", "west"], rows),
        }
    )
    frame["age"] = (20 + frame["years"] + rng.integers(0, 30, rows)).astype(int)
    frame["age_band"] = pd.cut(
        frame["age"], [0, 30, 45, 60, 200], labels=["<30", "30-44", "45-59", "60+"]
    ).astype(str)
    score = 0.06 * frame["income"] - 0.1 * frame["debt"] + 0.05 * frame["years"]
    score += np.where(frame["sex"] == "male", 0.3, 0) + rng.normal(0, 1, rows)
    frame["approved"] = np.where(score > 1.5, "yes", "no")
    return frame


def feedback_figures(version, frame: pd.DataFrame, answers: int = 5000) -> None:
    """The figures on 5,000 answers with feedback over 5 weeks (what the card reads uncached)."""
    inputs = frame[version_interface(version).names].head(answers).to_dict(orient="records")
    truth = frame["approved"].head(answers).tolist()
    now = timezone.now()
    with backdated(Prediction):
        Prediction.objects.bulk_create(
            Prediction(
                version=version,
                source="api",
                inputs=[row],
                outputs=[{"label": "yes" if i % 3 else "no"}],
                latency_ms=1.0,
                feedback=actual,
                created_at=now - dt.timedelta(hours=i % (35 * 24)),
            )
            for i, (row, actual) in enumerate(zip(inputs, truth, strict=True))
        )
    t0 = time.perf_counter()
    report = fairness_report(version=version, on="feedback")
    weeks = len(report["inputs"][0]["over_time"])
    print(
        f"  on {report['rows']:,} answers with feedback ({weeks} weeks): "
        f"{time.perf_counter() - t0:.2f} s (not cached)"
    )


def fairness_and_recourse() -> None:
    frame = synthetic()
    X = frame.drop(columns=["approved", "age_band", "age"])
    model = make_pipeline(
        ColumnTransformer(
            [("cat", OneHotEncoder(handle_unknown="ignore"), ["sex", "region"])],
            remainder="passthrough",
        ),
        HistGradientBoostingClassifier(max_iter=60, random_state=0),
    ).fit(X, frame["approved"])
    buffer = io.StringIO()
    frame.drop(columns=["age"]).to_csv(buffer, index=False)
    version = model_version_register(
        name="loans",
        artifact=sio.dumps(model),
        reference=buffer.getvalue().encode(),
        target="approved",
        keep=["age_band"],
    )
    print(f"\nfairness figures on {len(version.reference_sample):,} reference rows")
    for name in ("sex", "age_band", "income"):
        version, _ = version_sensitive_set(version=version, name=name, sensitive=True, user=None)
    runtime_clear()
    t0 = time.perf_counter()
    report = fairness_report(version=version)
    t1 = time.perf_counter()
    runtime_clear()
    t2 = time.perf_counter()
    reference_rows(version)
    t3 = time.perf_counter()
    print(
        f"  3 sensitive inputs (sex, age band kept, income in 5 bins): {t1 - t0:.2f} s cold, "
        f"of which scoring the rows {t3 - t2:.2f} s; figures alone {t1 - t0 - (t3 - t2):.2f} s"
    )
    for entry in report["inputs"]:
        print(f"    {entry['input']}: " + "; ".join(entry["sentences"][:1]))
    feedback_figures(version, frame)
    version = version_favourable_set(version=version, favourable="yes", user=None)
    rows = recourse_rows(version)
    interface = version_interface(version)
    t0 = time.perf_counter()
    result = recourse_compute(
        estimator=version_estimator(version),
        interface=interface,
        rows=rows,
        target=counterfactual_target(interface=interface, target="yes"),
    )
    print(
        f"\nrecourse: {result['rows']} of {result['unfavourable']:,} unfavourable rows sampled, "
        f"{time.perf_counter() - t0:.1f} s in all (budget 45 s), complete={result['complete']}"
    )
    for name, entries in result["inputs"].items():
        for e in entries:
            print(
                f"  {name:9s} {e['group']:8s} rows {e['rows']:3d} found {e['found']:3d} "
                f"median cost {e['median_cost']} time {e['seconds']:.2f} s"
            )


if __name__ == "__main__":
    dossiers()
    fairness_and_recourse()
