"""Batch jobs feed monitoring with all their rows, by a uniform sample kept on the job's
record after its head: drift, data quality and estimated performance see the whole file."""

from __future__ import annotations

import pandas as pd
import pytest

from registry.batch.files import HEAD_ROWS, MONITOR_ROWS
from registry.models import Refusal
from registry.monitoring.report import monitoring_report
from registry.monitoring.windows import period_parse
from tests.conftest import csv_bytes
from tests.registry.test_batch import run

pytestmark = pytest.mark.django_db


@pytest.fixture
def shifted_file(clinic_frame):
    """6,000 rows: the first 3,000 as in training, the last 3,000 with BMI raised by 8."""
    frame = pd.concat([clinic_frame.drop(columns="high_risk")] * 14, ignore_index=True)[:6000]
    frame = frame.astype(object)
    frame.loc[3000:, "bmi"] = frame.loc[3000:, "bmi"] + 8
    frame.loc[10, "region"] = "atlantis"  # refused: not one of the choices
    frame.loc[4000, "age"] = None  # refused: missing
    return frame


def test_the_job_record_keeps_its_head_then_a_uniform_sample_of_every_chunk(
    clinic_version, shifted_file, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL = {**settings.PORTAL, "BATCH_CHUNK_ROWS": 1000}
    job = run(clinic_version, csv_bytes(shifted_file), django_capture_on_commit_callbacks)
    record = job.prediction
    assert record.row_count == 6000
    head = shifted_file.drop(index=[10]).head(HEAD_ROWS)
    assert [r["age"] for r in record.inputs[:HEAD_ROWS]] == head["age"].tolist()
    sampled = record.inputs[HEAD_ROWS:]
    assert 0.85 * MONITOR_ROWS <= len(sampled) <= MONITOR_ROWS
    assert len(record.outputs) == len(record.inputs)
    assert "probabilities" in record.outputs[-1]
    # Uniform over the file: its BMI is the whole file's (half of it shifted by 8), where the
    # head alone would be the first half's.
    whole = shifted_file["bmi"].astype(float).mean()
    assert abs(sum(r["bmi"] for r in sampled) / len(sampled) - whole) < 0.6
    counted = {(r.input, r.reason): r.count for r in Refusal.objects.filter(source="batch")}
    assert counted == {("region", "unseen_category"): 1, ("age", "missing"): 1}


def test_drift_quality_and_estimates_see_the_whole_file(
    clinic_version, shifted_file, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL = {**settings.PORTAL, "BATCH_CHUNK_ROWS": 1000}
    run(clinic_version, csv_bytes(shifted_file), django_capture_on_commit_callbacks)
    report = monitoring_report(version=clinic_version, period=period_parse(version=clinic_version))
    drift = report["drift"]
    assert drift["rows"] > 500 and drift["status"] == "drift"
    assert drift["inputs"][0]["input"] == "bmi"  # only the file's second half moved
    bmi = next(q for q in report["quality"] if q["input"] == "bmi")
    highest = clinic_version.interface["inputs"][2]["observed_max"]
    outside = (shifted_file["bmi"].astype(float) > highest).mean()  # about 3%, all late
    # Read on the 300 rows a window reads: within 3 standard errors.
    assert outside > 0.02 and abs(bmi["out_of_range"] - outside) < 0.03
    region = next(q for q in report["quality"] if q["input"] == "region")
    assert region["refused_by_reason"] == {"unseen_category": 1}
    assert report["estimated_performance"]["recent"]["rows"] > 500
