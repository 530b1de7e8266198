"""Monitoring read from stored answers: traffic, refusals, sources, drift, performance."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from registry.interface import InvalidInput
from registry.models import Prediction, Source
from registry.monitoring.report import (
    monitoring_drift,
    monitoring_performance,
    monitoring_report,
    monitoring_traffic,
)
from registry.monitoring.windows import period_parse
from registry.predict.services import prediction_run
from tests.monitoring_rows import reference_rows, store_answers

pytestmark = pytest.mark.django_db


def test_latency_percentiles_equal_numpys_on_the_same_stored_rows(clinic_version):
    latencies = np.random.default_rng(1).lognormal(0.7, 0.5, 400).round(3)
    rows = reference_rows(clinic_version, 400)
    store_answers(clinic_version, rows[:300], latencies=latencies[:300])
    store_answers(clinic_version, rows[300:], latencies=latencies[300:], source=Source.BATCH)
    period = period_parse(version=clinic_version)
    traffic = monitoring_traffic(version=clinic_version, period=period)
    expected = np.percentile(latencies[:300], [50, 95, 99])  # batch jobs are not calls
    assert [traffic["latency_ms"][k] for k in ("p50", "p95", "p99")] == [
        round(float(v), 3) for v in expected
    ]
    assert traffic["answers"] == 400 and traffic["rows"] == 400
    assert sum(s["answers"] for s in traffic["series"]) == 400
    # Each day's p95 is numpy's on that day's calls.
    day = next(s for s in traffic["series"] if s["by_source"].get("api"))
    on_day = [
        p.latency_ms
        for p in Prediction.objects.filter(source=Source.API)
        if p.created_at.astimezone(dt.UTC).strftime("%Y-%m-%d") == day["start"]
    ]
    assert day["p95_ms"] == round(float(np.percentile(on_day, 95)), 3)


def test_what_if_answers_are_not_traffic_unless_asked_for(clinic_version, make_user):
    user = make_user()
    for _ in range(3):
        prediction_run(
            version=clinic_version,
            rows=reference_rows(clinic_version, 1),
            user=user,
            source=Source.PAGE,
        )
    prediction_run(
        version=clinic_version, rows=reference_rows(clinic_version, 2), user=user, source="api"
    )
    default = monitoring_traffic(
        version=clinic_version, period=period_parse(version=clinic_version)
    )
    assert (default["answers"], default["rows"]) == (1, 2)
    pages = period_parse(version=clinic_version, sources=["page"])
    assert monitoring_traffic(version=clinic_version, period=pages)["answers"] == 3


def test_a_refused_call_is_counted_though_nothing_is_stored(clinic_version, make_user):
    row = {**reference_rows(clinic_version, 1)[0], "region": "atlantis"}
    user = make_user()
    with pytest.raises(InvalidInput):
        prediction_run(version=clinic_version, rows=[row], user=user, source="api")
    traffic = monitoring_traffic(
        version=clinic_version, period=period_parse(version=clinic_version)
    )
    assert traffic["refused"] == 1 and traffic["answers"] == 0
    assert traffic["series"][-1]["refused"] == 1
    # A refusal is not an answer on the dashboard's usage graph.
    from registry.predict.selectors import usage_by_day

    assert usage_by_day(user=user, days=2)[1] == {}


def test_fifty_stored_rows_are_not_enough_data(clinic_version):
    rows = reference_rows(clinic_version, 50)
    for row in rows:
        row["bmi"] = row["bmi"] + 30  # far away, but too few rows to say
    store_answers(clinic_version, rows)
    drift = monitoring_drift(version=clinic_version, period=period_parse(version=clinic_version))
    assert drift["status"] == "not_enough_data" and drift["rows"] == 50
    assert not any(r["drifted"] for r in drift["inputs"])


def test_a_shifted_input_in_stored_rows_is_drift_and_comes_first(clinic_version):
    rows = reference_rows(clinic_version, 300, seed=3)
    for row in rows:
        row["bmi"] = round(row["bmi"] + 3.0, 1)
    store_answers(clinic_version, rows)
    report = monitoring_report(
        version=clinic_version,
        period=period_parse(version=clinic_version),
        with_distributions=True,
    )
    drift = report["drift"]
    assert drift["status"] == "drift" and drift["inputs"][0]["input"] == "bmi"
    assert drift["inputs"][0]["drifted"] and drift["inputs"][0]["effect"] > 0.3
    assert set(drift["distributions"]) == {"age", "sex", "bmi", "bp", "s5", "region"}
    assert drift["output"] is not None


def test_the_segment_filter_narrows_drift_to_its_rows(clinic_version):
    rows = reference_rows(clinic_version, 600, seed=4)
    for row in rows:
        if row["region"] == "north":
            row["bmi"] = round(row["bmi"] + 4.0, 1)
    store_answers(clinic_version, rows)
    north = period_parse(version=clinic_version, segment="region:north")
    south = period_parse(version=clinic_version, segment="region:south")
    found = monitoring_drift(version=clinic_version, period=north)
    assert found["segment"] == {"input": "region", "value": "north"}
    assert found["inputs"][0]["input"] == "bmi" and found["inputs"][0]["drifted"]
    assert 150 < found["rows"] < 250
    assert monitoring_drift(version=clinic_version, period=south)["status"] == "ok"


def test_performance_comes_from_feedback_with_an_interval_beside_the_reference(clinic_version):
    rows = reference_rows(clinic_version, 200)
    truth = ["no"] * 150 + ["yes"] * 50  # every answer stored says "no": accuracy 0.75
    store_answers(clinic_version, rows, feedback=truth)
    found = monitoring_performance(
        version=clinic_version, period=period_parse(version=clinic_version)
    )
    assert found["metric"] == "accuracy" and found["labelled"] == 200
    assert found["value"] == pytest.approx(0.75)
    low, high = found["interval"]
    assert low < 0.75 < high and high - low < 0.15
    assert found["reference"] == pytest.approx(clinic_version.metrics["accuracy"])


def test_no_feedback_means_no_performance(clinic_version):
    store_answers(clinic_version, reference_rows(clinic_version, 10))
    period = period_parse(version=clinic_version)
    assert monitoring_performance(version=clinic_version, period=period) is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-11-10", "until": "2026-11-01"}, "since"),
        ({"sources": ["api", "email"]}, "source"),
        ({"segment": "bmi:30"}, "segment"),
        ({"segment": "region:atlantis"}, "segment"),
        ({"segment": "region"}, "segment"),
    ],
)
def test_a_bad_period_is_refused_naming_the_field(clinic_version, kwargs, field):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        period_parse(version=clinic_version, **kwargs)
    assert field in caught.value.message_dict


def test_finished_days_are_kept_and_today_is_read_afresh(clinic_version):
    from django.core.cache import caches

    caches["monitoring"].clear()
    rows = reference_rows(clinic_version, 60)
    store_answers(clinic_version, rows[:30], ages=[30 + i for i in range(30)])  # days ago
    period = period_parse(version=clinic_version)
    first = monitoring_traffic(version=clinic_version, period=period)
    # A row stored now lands in today's window, the one window never kept.
    store_answers(clinic_version, rows[30:31], ages=[0.01])
    again = monitoring_traffic(version=clinic_version, period=period_parse(version=clinic_version))
    assert again["answers"] == first["answers"] + 1
    assert again["series"][:-1] == first["series"][:-1]
    assert again["series"][-1]["answers"] == first["series"][-1]["answers"] + 1
