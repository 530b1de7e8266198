"""The daily rollup: each settled UTC day of a version's traffic summed once into ``TrafficDay``.

The task worker fills it (:func:`monitoring_rollup`), so the monitoring page reads a few
rows per day instead of every answer.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

from django.tasks import task
from django.utils import timezone

from registry.models import ModelVersion, Prediction, Source, TrafficDay
from registry.monitoring.stats import ROLLUP_CHUNK_DAYS, ROLLUP_MAX_DAYS, ROLLUP_SETTLE
from registry.monitoring.windows import TIMED_SETS, Period, timed_key, windows_read

log = logging.getLogger(__name__)


def traffic_days_fill(*, version: ModelVersion, now: dt.datetime | None = None) -> int:
    """Sum each settled UTC day of ``version`` the rollup lacks into ``TrafficDay``; returns
    the days summed.

    The ``ROLLUP_MAX_DAYS`` days up to the last one over for ``ROLLUP_SETTLE`` (a version
    with no answer yet has nothing to sum). Each day's figures are :func:`windows_read`'s, by
    the same queries: per source alone (answers, rows, p95), and for page and api together
    (their joint p95), so a page reading the rollup shows what reading the answers would.
    """
    now = now or timezone.now()
    last = (now - ROLLUP_SETTLE).astimezone(dt.UTC).date() - dt.timedelta(days=1)
    start = last - dt.timedelta(days=ROLLUP_MAX_DAYS - 1)
    first = (
        Prediction.objects.filter(version=version)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if first is None:
        return 0
    done = set(
        TrafficDay.objects.filter(version=version, day__gte=start, day__lte=last).values_list(
            "day", flat=True
        )
    )
    todo = [
        start + dt.timedelta(days=i)
        for i in range((last - start).days + 1)
        if start + dt.timedelta(days=i) not in done
    ]
    # Days before the first answer hold none (answers are stamped as they are stored; seeding
    # that backdates them drops the rollup, see registry.demo.backdated): no need to read.
    before = first.astimezone(dt.UTC).date()
    empty = [TrafficDay(version=version, day=d) for d in todo if d < before]
    added = len(TrafficDay.objects.bulk_create(empty, ignore_conflicts=True))
    todo = [d for d in todo if d >= before]
    while todo:
        # Contiguous days, at most ROLLUP_CHUNK_DAYS, in one read per set of sources.
        run = [todo.pop(0)]
        while todo and len(run) < ROLLUP_CHUNK_DAYS and todo[0] == run[-1] + dt.timedelta(1):
            run.append(todo.pop(0))
        since = dt.datetime.combine(run[0], dt.time(), tzinfo=dt.UTC)
        span = Period(since=since, until=since + dt.timedelta(days=len(run)), daily=True)
        keys = [d.isoformat() for d in run]
        rolled = {k: TrafficDay(version=version, day=d) for k, d in zip(keys, run, strict=True)}
        for source in Source.values:
            alone = windows_read(version, replace(span, sources=(source,)), keys)
            for key, window in alone.items():
                if window["answers"]:
                    rolled[key].counts[source] = [window["answers"], window["rows"]]
                if source != Source.BATCH:
                    rolled[key].p95_ms[source] = window["p95_ms"]
        for sources in TIMED_SETS:
            if len(sources) > 1:
                joint = windows_read(version, replace(span, sources=sources), keys)
                for key, window in joint.items():
                    rolled[key].p95_ms[timed_key(sources)] = window["p95_ms"]
        # Another worker may have summed the same days meanwhile: theirs are the same sums.
        added += len(TrafficDay.objects.bulk_create(rolled.values(), ignore_conflicts=True))
    return added


def traffic_days_fill_all(*, version_id: int | None = None) -> dict[ModelVersion, int]:
    """:func:`traffic_days_fill` for one version, or every version: the days summed of each."""
    versions = ModelVersion.objects.select_related("model").order_by("pk")
    if version_id is not None:
        versions = versions.filter(pk=version_id)
    return {v: traffic_days_fill(version=v) for v in versions.defer(*_NOT_FOR_ROLLUP)}


# The heavy columns of a version, which summing its days never reads.
_NOT_FOR_ROLLUP = ("interface", "evaluation", "reference_sample", "metrics", "params")


@task()
def monitoring_rollup(version_id: int | None = None) -> None:
    """Sum the settled days of one version (or of every version) for the monitoring page."""
    for version, days in traffic_days_fill_all(version_id=version_id).items():
        if days:
            log.info("monitoring rollup: %s days of %s", days, version)
