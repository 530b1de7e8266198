"""The daily rollup of traffic: a finished day summed once answers what its answers answer."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.utils import timezone

from registry.models import Prediction, Source, TrafficDay
from registry.monitoring.report import monitoring_traffic
from registry.monitoring.rollup import traffic_days_fill
from registry.monitoring.stats import ROLLUP_MAX_DAYS
from registry.monitoring.windows import period_parse
from tests.monitoring_rows import reference_rows, store_answers

pytestmark = pytest.mark.django_db

SOURCE_SETS = [
    None,  # the default: api and batch
    ["api"],
    ["page"],
    ["batch"],
    ["api", "page"],
    ["page", "batch"],
    ["api", "page", "batch"],
]


def _history(version) -> None:
    """Eleven days of answers from every source, with gaps, several rows per call at times,
    and latencies that differ per source; some answers fall in today."""
    rng = np.random.default_rng(7)
    rows = reference_rows(version, 600)
    spread = {Source.API: 300, Source.PAGE: 200, Source.BATCH: 100}
    start = 0
    for source, n in spread.items():
        ages = rng.uniform(0, 11 * 24, n)
        ages = ages[(ages < 3 * 24) | (ages > 5 * 24)]  # days 3-5 ago: no answers at all
        latencies = rng.lognormal(0.7 if source == Source.API else 1.5, 0.5, len(ages)).round(3)
        store_answers(
            version, rows[start : start + len(ages)], source=source, ages=ages, latencies=latencies
        )
        start += len(ages)
    # A few calls of several rows: their rows count, not only the calls.
    Prediction.objects.filter(pk__in=Prediction.objects.values("pk")[:40]).update(row_count=5)


def _fresh() -> None:
    caches["monitoring"].clear()
    caches["default"].clear()


@pytest.mark.parametrize("sources", SOURCE_SETS)
def test_rolled_days_answer_what_the_answers_answer(clinic_version, sources):
    _history(clinic_version)
    periods = {
        "default": {},
        "a week, from mid-morning": {
            "since": (timezone.now() - dt.timedelta(days=7, hours=3)).isoformat(),
        },
        "ten whole days": {
            "since": (timezone.now() - dt.timedelta(days=10)).date().isoformat(),
            "until": (timezone.now() - dt.timedelta(days=1)).date().isoformat(),
        },
    }
    for label, bounds in periods.items():
        TrafficDay.objects.all().delete()
        _fresh()
        period = period_parse(version=clinic_version, sources=sources, **bounds)
        # Read from the answers; the page then asks the worker (here: inline) to sum the days.
        live = monitoring_traffic(version=clinic_version, period=period)
        assert TrafficDay.objects.filter(version=clinic_version).count() == ROLLUP_MAX_DAYS
        caches["monitoring"].clear()
        rolled = monitoring_traffic(version=clinic_version, period=period)
        assert rolled == live, label
        assert live["answers"] > 0


def test_the_page_reads_finished_days_from_the_rollup_and_today_from_the_answers(
    clinic_version,
):
    _history(clinic_version)
    _fresh()
    period = period_parse(version=clinic_version)
    before = monitoring_traffic(version=clinic_version, period=period)
    three_days_ago = (timezone.now() - dt.timedelta(days=2)).astimezone(dt.UTC).date()
    # Change one summed day by hand: the page now shows it, so it read the row, not answers.
    TrafficDay.objects.filter(version=clinic_version, day=three_days_ago).update(
        counts={"api": [999, 1000]}, p95_ms={"api": 1.5, "page": 2.5, "api,page": 2.0}
    )
    caches["monitoring"].clear()
    after = monitoring_traffic(version=clinic_version, period=period)
    day = next(s for s in after["series"] if s["start"] == three_days_ago.isoformat())
    assert (day["answers"], day["rows"], day["by_source"], day["p95_ms"]) == (
        999,
        1000,
        {"api": 999},
        1.5,
    )
    # Today is never summed: an answer stored now shows at once.
    store_answers(clinic_version, reference_rows(clinic_version, 1), ages=[0.0])
    caches["monitoring"].clear()
    latest = monitoring_traffic(version=clinic_version, period=period_parse(version=clinic_version))
    assert latest["series"][-1]["answers"] == before["series"][-1]["answers"] + 1


def test_a_day_is_summed_only_once_it_has_settled(clinic_version):
    store_answers(clinic_version, reference_rows(clinic_version, 30), ages=[30] * 30)
    today = timezone.now().astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = (today - dt.timedelta(days=1)).date()
    # Five minutes after midnight, a call stamped yesterday may still be committing.
    traffic_days_fill(version=clinic_version, now=today + dt.timedelta(minutes=5))
    assert not TrafficDay.objects.filter(day=yesterday).exists()
    assert TrafficDay.objects.filter(day=yesterday - dt.timedelta(days=1)).exists()
    assert traffic_days_fill(version=clinic_version, now=today + dt.timedelta(minutes=20)) == 1
    assert TrafficDay.objects.filter(day=yesterday).exists()
    # Summing again adds nothing.
    assert traffic_days_fill(version=clinic_version, now=today + dt.timedelta(minutes=20)) == 0


def test_backdated_answers_drop_the_rollup_so_it_is_summed_again(clinic_version):
    store_answers(clinic_version, reference_rows(clinic_version, 10), ages=[50] * 10)
    call_command("monitoring_rollup", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert TrafficDay.objects.exists()
    store_answers(clinic_version, reference_rows(clinic_version, 10), ages=[50] * 10)
    assert not TrafficDay.objects.exists()
    _fresh()
    traffic = monitoring_traffic(
        version=clinic_version, period=period_parse(version=clinic_version)
    )
    assert traffic["answers"] == 20
