"""What each kind of alert rule looks at, on a model's champion, and whether it holds now.

Each check reads what the monitoring page reads, over a window fit for alerting rather
than the page's 30 days: drift over the default period's newest rows (as the catalog badge),
performance over the last ``RECENT_DAYS`` days (from feedback, or estimated without it),
latency and refusals over the last day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.db.models import Sum
from django.utils import timezone

from registry.models import AlertRule, ModelVersion, Usage
from registry.monitoring.estimation import RECENT_DAYS, monitoring_estimated_recent
from registry.monitoring.report import monitoring_performance, monitoring_statuses
from registry.monitoring.stats import LATENCY_ROWS, latency_percentiles
from registry.monitoring.verdict import MIN_RECENT_LABELLED, performance_judgement
from registry.monitoring.windows import Period, period_answers, period_latencies, period_parse

When = AlertRule.When

# Calls a day needs before its latency or refusals can fire an alert: fewer say little.
MIN_CALLS = 20

# (smallest, largest) threshold of each kind, and its default when it has one. Performance
# thresholds are the worsening allowed: a share of the error (MAE), or points of accuracy.
THRESHOLDS: dict[str, tuple[float, float, float | None]] = {
    When.DRIFT: (1, 1000, 1),
    When.PERFORMANCE: (0.001, 10, None),
    When.ESTIMATED_PERFORMANCE: (0.001, 10, None),
    When.LATENCY_P99: (0.001, 600_000, None),
    When.REFUSED_RATE: (0.0001, 1, None),
}
NEEDS_THRESHOLD = (When.LATENCY_P99, When.REFUSED_RATE)


@dataclass
class Seen:
    """What one evaluation saw: whether the rule's condition holds, a number and words."""

    firing: bool
    value: float | None
    message: str


def _day(version: ModelVersion, now: dt.datetime) -> Period:
    return replace(period_parse(version=version, now=now), since=now - dt.timedelta(days=1))


def _drift(rule: AlertRule, version: ModelVersion, now: dt.datetime) -> Seen:
    status = monitoring_statuses(versions=[version])[version.pk]
    least = int(rule.threshold or 1)
    firing = status["status"] == "drift" and status["drifted"] >= least
    return Seen(firing, float(status["drifted"]), status.get("sentence") or status["status"])


def _performance(rule: AlertRule, version: ModelVersion, now: dt.datetime) -> Seen:
    period = period_parse(version=version, now=now)
    recent = replace(period, since=max(period.since, now - dt.timedelta(days=RECENT_DAYS)))
    task = version.interface["output"]["task"]
    metric = "accuracy" if task == "classification" else "mae"
    reference = version.metrics.get(metric)
    if rule.when == When.PERFORMANCE:
        found = monitoring_performance(version=version, period=recent)
        if not found or found["labelled"] < MIN_RECENT_LABELLED or not found["interval"]:
            labelled = found["labelled"] if found else 0
            return Seen(False, None, f"{labelled} answers with feedback in {RECENT_DAYS} days.")
        value, (low, high), estimated = found["value"], found["interval"], False
    else:
        point = monitoring_estimated_recent(version=version, period=period)
        if not point or point["estimate"] is None:
            return Seen(False, None, "No estimate (too few answers or reference labels).")
        value, low, high, estimated = point["estimate"], point["low"], point["high"], True
    judged = performance_judgement(
        metric=metric,
        reference=float(reference) if reference is not None else None,
        value=value,
        low=low,
        high=high,
        estimated=estimated,
        material=rule.threshold,
    )
    if judged is None:
        return Seen(False, value, "No reference figure to compare with.")
    words = "estimated " if estimated else ""
    return Seen(
        judged["worse"],
        value,
        f"{metric} {words}{value:.4g} over {RECENT_DAYS} days (95%: {low:.4g}–{high:.4g}) "
        f"against {judged['reference']:.4g} in training",
    )


def _latency(rule: AlertRule, version: ModelVersion, now: dt.datetime) -> Seen:
    latencies = period_latencies(period_answers(version, _day(version, now)), LATENCY_ROWS)
    if latencies.size < MIN_CALLS:
        return Seen(False, None, f"{latencies.size} calls in the last day.")
    p99 = latency_percentiles(latencies)["p99"]
    return Seen(p99 > rule.threshold, p99, f"p99 latency {p99:.4g} ms over {latencies.size} calls")


def _refused(rule: AlertRule, version: ModelVersion, now: dt.datetime) -> Seen:
    period = _day(version, now)
    answered = period_answers(version, period).count()
    # Refusals are counted per UTC day: today's and yesterday's.
    refused = (
        Usage.objects.filter(
            version=version,
            kind__in=[f"refused.{s}" for s in period.sources],
            day__gte=(now - dt.timedelta(days=1)).astimezone(dt.UTC).date(),
        ).aggregate(n=Sum("count"))["n"]
        or 0
    )
    calls = answered + refused
    if calls < MIN_CALLS:
        return Seen(False, None, f"{calls} calls in the last day.")
    share = refused / calls
    return Seen(share > rule.threshold, share, f"{refused} of {calls} calls refused")


CHECKS = {
    When.DRIFT: _drift,
    When.PERFORMANCE: _performance,
    When.ESTIMATED_PERFORMANCE: _performance,
    When.LATENCY_P99: _latency,
    When.REFUSED_RATE: _refused,
}


def rule_check(rule: AlertRule, version: ModelVersion, now: dt.datetime | None = None) -> Seen:
    """Whether ``rule`` holds on ``version`` now."""
    return CHECKS[rule.when](rule, version, now or timezone.now())
