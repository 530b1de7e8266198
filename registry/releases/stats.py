"""The statistics of a release, pure: numbers in, numbers out (no database).

- Shadow performance is paired: the shadow answered the very rows the champion did, so on
  rows with feedback each row gives a difference (correct or not, or absolute error), and the
  95% interval of the mean difference is the normal one (mean ± 1.96 standard errors).
- A canary ends when it is significantly worse, by a one-sided test at ``CANARY_ALPHA``:
  failure rates and accuracy by the pooled two-proportion z-test, mean absolute error by
  Welch's t-test. Checked again and again as answers come in, so each check is strict
  (0.001): tests/registry/test_release_stats.py measures the false-alarm rate that gives
  under repeated checks, on seeded simulations of a canary as good as its champion.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as sps

Z95 = 1.959963984540054
CANARY_ALPHA = 0.001
# Fewer labelled pairs (shadow) or answers per side (canary) than this: no verdict.
MIN_PAIRS = 30
MIN_CANARY_CALLS = 50
MIN_CANARY_LABELLED = 30

NOT_ENOUGH = "not enough data"
NO_EVIDENCE = "no evidence the challenger is worse"
WORSE = "the challenger is worse"


@dataclass(frozen=True)
class Paired:
    """Each side's metric on the same rows, the difference (shadow - champion), its 95%
    interval, and which direction is better (``higher_is_better``)."""

    metric: str
    rows: int
    champion: float
    shadow: float
    difference: float
    interval: tuple[float, float]
    higher_is_better: bool

    def as_dict(self) -> dict:
        return {
            "metric": self.metric,
            "rows": self.rows,
            "champion": self.champion,
            "shadow": self.shadow,
            "difference": self.difference,
            "interval": list(self.interval),
        }


def paired_performance(
    metric: str, champion: Sequence[float], shadow: Sequence[float], higher_is_better: bool
) -> Paired | None:
    """Paired per-row scores of each side (1/0 correct, or absolute errors); None if empty."""
    n = len(champion)
    if n == 0:
        return None
    diffs = [s - c for c, s in zip(champion, shadow, strict=True)]
    mean = sum(diffs) / n
    if n > 1:
        sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
        half = Z95 * sd / math.sqrt(n)
    else:
        half = math.inf
    return Paired(
        metric=metric,
        rows=n,
        champion=sum(champion) / n,
        shadow=sum(shadow) / n,
        difference=mean,
        interval=(mean - half, mean + half),
        higher_is_better=higher_is_better,
    )


def verdict(paired: Paired | None) -> str:
    """The plain-words verdict on a shadow's performance against the champion's."""
    if paired is None or paired.rows < MIN_PAIRS:
        return NOT_ENOUGH
    low, high = paired.interval
    worse = high < 0 if paired.higher_is_better else low > 0
    return WORSE if worse else NO_EVIDENCE


def proportion_worse_p(bad_a: int, n_a: int, bad_b: int, n_b: int) -> float:
    """One-sided p-value that side A's rate of bad outcomes is above side B's (pooled
    two-proportion z-test); 1.0 when either side is empty or nothing differs."""
    if n_a == 0 or n_b == 0:
        return 1.0
    pooled = (bad_a + bad_b) / (n_a + n_b)
    if pooled in (0.0, 1.0):
        return 1.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = (bad_a / n_a - bad_b / n_b) / se
    return float(sps.norm.sf(z))


def mean_worse_p(a: Sequence[float], b: Sequence[float]) -> float:
    """One-sided p-value that the mean of ``a`` is above that of ``b`` (Welch's t-test)."""
    if len(a) < 2 or len(b) < 2:
        return 1.0
    result = sps.ttest_ind(a, b, equal_var=False, alternative="greater")
    p = float(result.pvalue)
    return 1.0 if math.isnan(p) else p


@dataclass(frozen=True)
class CanaryCounts:
    """What a canary check reads, each side since the canary started."""

    calls: int
    errors: int
    champion_calls: int
    champion_errors: int
    # Classifiers: 1/0 correct per labelled row; regressors: absolute errors.
    outcomes: Sequence[float] = ()
    champion_outcomes: Sequence[float] = ()
    higher_is_better: bool = True


def canary_reason(counts: CanaryCounts, alpha: float = CANARY_ALPHA) -> str | None:
    """Why a canary should end (a sentence naming the test), or None to let it run."""
    c = counts
    if c.calls >= MIN_CANARY_CALLS and c.champion_calls >= MIN_CANARY_CALLS:
        p = proportion_worse_p(c.errors, c.calls, c.champion_errors, c.champion_calls)
        if p < alpha:
            return (
                f"its calls failed more often ({c.errors}/{c.calls} against the champion's "
                f"{c.champion_errors}/{c.champion_calls}; one-sided two-proportion z-test, "
                f"p = {p:.2g} < {alpha})"
            )
    n, m = len(c.outcomes), len(c.champion_outcomes)
    if n >= MIN_CANARY_LABELLED and m >= MIN_CANARY_LABELLED:
        if c.higher_is_better:
            wrong, champion_wrong = n - sum(c.outcomes), m - sum(c.champion_outcomes)
            p = proportion_worse_p(int(wrong), n, int(champion_wrong), m)
            test, what = "one-sided two-proportion z-test", "accuracy"
            mine, theirs = sum(c.outcomes) / n, sum(c.champion_outcomes) / m
        else:
            p = mean_worse_p(c.outcomes, c.champion_outcomes)
            test, what = "one-sided Welch t-test", "mean absolute error"
            mine, theirs = sum(c.outcomes) / n, sum(c.champion_outcomes) / m
        if p < alpha:
            return (
                f"its feedback shows it significantly worse ({what} {mine:.3g} on {n} answers "
                f"against the champion's {theirs:.3g} on {m}; {test}, p = {p:.2g} < {alpha})"
            )
    return None
