"""Monitoring statistics, pure: arrays in, numbers out.

The seeded power and false-alarm tests run them thousands of times without a database.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from registry.interface import Interface
from registry.models import Source

# Below 100 rows the answer is "not enough data", never "drift". Why 100: against a
# 500-row reference, the combined test below finds a 0.3 SD mean shift in about 2 of 3
# windows of 100 rows but only 2 of 5 windows of 50 (so a quiet small window says nothing),
# and the chi-square approximation wants about five expected rows per cell, which a
# category holding 5% of the rows reaches at 100.
MIN_ROWS = 100


MIN_REFERENCE_ROWS = 30


# False discovery rate across inputs (Benjamini-Hochberg).
ALPHA = 0.05


# The newest stored rows that drift, output drift and performance read.
SAMPLE_ROWS = 5000


# Rows read per window for drift over time, and the most windows drawn.
WINDOW_ROWS = 300


MAX_DRIFT_WINDOWS = 15


# A category holding fewer expected rows than this in either sample is merged into "other".
RARE_EXPECTED = 5


BOOTSTRAP_RESAMPLES = 1000


DEFAULT_SOURCES = (Source.API.value, Source.BATCH.value)


DEFAULT_DAYS = 30


STATUS_SECONDS = 300


# A window that is over never changes: its traffic figures are kept this long.
WINDOW_SECONDS = 24 * 3600


# The period's latency percentiles are numpy's on the newest calls, at most this many.
LATENCY_ROWS = 50_000


# A UTC day is summed into TrafficDay once it has been over this long: a call stamped just
# before midnight may still be committing just after it.
ROLLUP_SETTLE = dt.timedelta(minutes=15)


# Days summed per read when filling: each read holds the latencies of that many days.
ROLLUP_CHUNK_DAYS = 3


# How far back a version's first fill goes (the longest period a page can ask for).
ROLLUP_MAX_DAYS = 367


OTHER = "(other)"


TESTED_TYPES = ("number", "integer", "category", "boolean")


# ---------------------------------------------------------------- statistics (pure)
def _finite(values: Iterable[Any]) -> np.ndarray:
    array = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(
        dtype="float64"
    )
    return array[np.isfinite(array)]


def numeric_drift(reference: Sequence[float], current: Sequence[float]) -> dict[str, Any]:
    """Two-sample test of a number: Kolmogorov-Smirnov and Welch's t, Bonferroni over the pair.

    KS sees any change of shape; Welch's t is the more powerful for the commonest drift, a
    moved mean (with 500 vs 300 rows it finds a 0.3 SD shift in ~97% of samples where KS
    alone finds ~92%). Taking twice the smaller p keeps the false-alarm rate at or below
    the level. The effect is the mean's move in reference standard deviations.
    """
    ref, cur = _finite(reference), _finite(current)
    if len(ref) < 2 or len(cur) < 2:
        return {"test": "ks+t", "statistic": None, "p_value": None, "effect": None}
    ks = stats.ks_2samp(ref, cur)
    sd = float(np.std(ref, ddof=1))
    t_p = _welch_p(ref, cur)
    p = min(1.0, 2 * min(float(ks.pvalue), t_p))
    moved = float(np.mean(cur) - np.mean(ref))
    # A constant reference has no SD to measure by: the effect is then left unstated.
    effect = moved / sd if sd > 0 else (0.0 if moved == 0 else None)
    return {"test": "ks+t", "statistic": float(ks.statistic), "p_value": p, "effect": effect}


def _welch_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p of Welch's t-test (scipy's ttest_ind warns on near-constant data)."""
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    moved = float(np.mean(b) - np.mean(a))
    if va + vb == 0:
        return 1.0 if moved == 0 else 0.0
    t = moved / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return float(2 * stats.t.sf(abs(t), df))


def category_drift(reference: Sequence[Any], current: Sequence[Any]) -> dict[str, Any]:
    """Chi-square test of a category's mix, rare categories merged; unseen ones named.

    A category expected to hold fewer than ``RARE_EXPECTED`` rows in either sample is merged
    into one "other" cell, which keeps the chi-square approximation honest. The effect is
    Cramér's V (0: same mix, 1: disjoint). ``unseen`` lists the values in the current rows
    that the reference never shows.
    """
    ref = pd.Series([str(v) for v in reference if v is not None], dtype=object)
    cur = pd.Series([str(v) for v in current if v is not None], dtype=object)
    unseen = sorted(set(cur) - set(ref))
    if ref.empty or cur.empty:
        return {
            "test": "chi2",
            "statistic": None,
            "p_value": None,
            "effect": None,
            "unseen": unseen,
        }
    table = pd.DataFrame({"reference": ref.value_counts(), "current": cur.value_counts()}).fillna(0)
    share = table.sum(axis=1) / table.to_numpy().sum()
    expected_min = np.outer(share, [len(ref), len(cur)]).min(axis=1)
    rare = expected_min < RARE_EXPECTED
    if rare.any():
        merged = table[~rare]
        merged.loc[OTHER] = table[rare].sum()
        table = merged
    table = table[table.sum(axis=1) > 0]
    if len(table) < 2:
        return {"test": "chi2", "statistic": 0.0, "p_value": 1.0, "effect": 0.0, "unseen": unseen}
    result = stats.chi2_contingency(table.to_numpy().T, correction=False)
    n = len(ref) + len(cur)
    cramers_v = math.sqrt(result.statistic / n)  # a 2-row table: min(rows, cols) - 1 = 1
    return {
        "test": "chi2",
        "statistic": float(result.statistic),
        "p_value": float(result.pvalue),
        "effect": cramers_v,
        "unseen": unseen,
    }


def boolean_drift(reference: Sequence[Any], current: Sequence[Any]) -> dict[str, Any]:
    """Two-proportion z-test of the share of true; the effect is Cohen's h."""
    ref = np.array([bool(v) for v in reference if v is not None])
    cur = np.array([bool(v) for v in current if v is not None])
    if len(ref) == 0 or len(cur) == 0:
        return {"test": "proportion", "statistic": None, "p_value": None, "effect": None}
    p1, p2 = ref.mean(), cur.mean()
    pooled = (ref.sum() + cur.sum()) / (len(ref) + len(cur))
    se = math.sqrt(pooled * (1 - pooled) * (1 / len(ref) + 1 / len(cur)))
    z = 0.0 if se == 0 else (p2 - p1) / se
    p = float(2 * stats.norm.sf(abs(z))) if se else (1.0 if p1 == p2 else 0.0)
    h = 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))
    return {"test": "proportion", "statistic": float(z), "p_value": p, "effect": float(h)}


def fdr_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (``None`` stays ``None``: an untested input)."""
    tested = [i for i, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    if tested:
        values = stats.false_discovery_control([p_values[i] for i in tested], method="bh")
        for i, value in zip(tested, values, strict=True):
            adjusted[i] = float(value)
    return adjusted


def _column(rows: Sequence[Mapping[str, Any]], name: str) -> list[Any]:
    return [row.get(name) for row in rows]


def input_drift(
    *,
    interface: Interface,
    reference: Sequence[Mapping[str, Any]],
    current: Sequence[Mapping[str, Any]],
    min_rows: int = MIN_ROWS,
    alpha: float = ALPHA,
) -> dict[str, Any]:
    """Each input of ``current`` rows against ``reference`` rows, adjusted across inputs.

    Returns ``{"status", "rows", "min_rows", "inputs": [...]}``: the inputs sorted with the
    drifted first (smallest adjusted p first), each with its test, statistic, p-value,
    adjusted p-value, effect size and ``drifted``. Fewer than ``min_rows`` current rows (or
    ``MIN_REFERENCE_ROWS`` reference rows) give ``not_enough_data``: no input is drifted.
    Text and date inputs are not tested.
    """
    fields = [f for f in interface.fields if f.type in TESTED_TYPES]
    results = []
    for field_ in fields:
        ref, cur = _column(reference, field_.name), _column(current, field_.name)
        if field_.type in ("number", "integer"):
            found = numeric_drift(ref, cur)
        elif field_.type == "category":
            found = category_drift(ref, cur)
        else:
            found = boolean_drift(ref, cur)
        results.append({"input": field_.name, "type": field_.type, **found})
    # A version registered without reference data, or a segment it hardly holds, cannot be
    # judged either: that too is not enough data.
    enough = len(current) >= min_rows and len(reference) >= MIN_REFERENCE_ROWS
    adjusted = fdr_adjust([r["p_value"] if enough else None for r in results])
    for result, adj in zip(results, adjusted, strict=True):
        result["adjusted_p"] = adj
        result["drifted"] = adj is not None and adj < alpha
    results.sort(
        key=lambda r: (not r["drifted"], 2.0 if r["adjusted_p"] is None else r["adjusted_p"])
    )
    drifted = sum(r["drifted"] for r in results)
    status = "not_enough_data" if not enough else ("drift" if drifted else "ok")
    return {
        "status": status,
        "rows": len(current),
        "min_rows": min_rows,
        "drifted": drifted,
        "inputs": results,
    }


def output_drift(
    *, task: str, reference: Sequence[Any], current: Sequence[Any], min_rows: int = MIN_ROWS
) -> dict[str, Any] | None:
    """The same test on the answers: the predicted class's mix, or the predicted value."""
    if len(current) < min_rows or not reference:
        return None
    found = (
        numeric_drift(reference, current)
        if task == "regression"
        else category_drift(reference, current)
    )
    found["drifted"] = found["p_value"] is not None and found["p_value"] < ALPHA
    return found


def latency_percentiles(latencies: Sequence[float] | np.ndarray) -> dict[str, float | None]:
    """p50, p95 and p99 of latencies in ms: numpy's (linear interpolation), or None."""
    values = np.asarray(latencies, dtype="float64")
    if values.size == 0:
        return {"p50": None, "p95": None, "p99": None}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": round(float(p50), 3), "p95": round(float(p95), 3), "p99": round(float(p99), 3)}


def bootstrap_interval(
    scores: Sequence[float] | np.ndarray,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """A percentile-bootstrap interval for the mean of per-row scores (seeded: reproducible)."""
    values = np.asarray(scores, dtype="float64")
    if values.size < 2:
        return None
    rng = np.random.default_rng(seed)
    # Resampled in blocks so memory stays bounded for a large window.
    means = np.concatenate(
        [
            values[rng.integers(0, values.size, size=(min(200, resamples - i), values.size))].mean(
                axis=1
            )
            for i in range(0, resamples, 200)
        ]
    )
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def segment_rows(
    rows: Sequence[Mapping[str, Any]], segment: tuple[str, str] | None
) -> list[Mapping[str, Any]]:
    """The rows whose category input ``segment[0]`` equals ``segment[1]`` (all without one)."""
    if segment is None:
        return list(rows)
    name, value = segment
    return [row for row in rows if str(row.get(name)) == value]


def distributions(
    *,
    interface: Interface,
    reference: Sequence[Mapping[str, Any]],
    current: Sequence[Mapping[str, Any]],
    bins: int = 24,
) -> dict[str, dict[str, Any]]:
    """Reference and current shares per input, ready to overlay: shared bins for a number,
    shared categories (unseen ones included) for a category or a boolean."""
    found: dict[str, dict[str, Any]] = {}
    for field_ in interface.fields:
        if field_.type not in TESTED_TYPES:
            continue
        ref, cur = _column(reference, field_.name), _column(current, field_.name)
        numeric = field_.type in ("number", "integer")
        shares = overlay_shares(ref, cur, numeric=numeric, bins=bins)
        if shares is not None:
            found[field_.name] = shares
    return found


def overlay_shares(
    reference: Sequence[Any], current: Sequence[Any], *, numeric: bool, bins: int = 24
) -> dict[str, Any] | None:
    """Shares of two samples on shared bins (numbers) or shared categories, to overlay."""
    if numeric:
        ref_values, cur_values = _finite(reference), _finite(current)
        both = np.concatenate([ref_values, cur_values])
        if both.size == 0:
            return None
        edges = np.histogram_bin_edges(both, bins=bins)
        return {
            "kind": "number",
            "edges": edges.round(6).tolist(),
            "reference": _shares(np.histogram(ref_values, bins=edges)[0]),
            "current": _shares(np.histogram(cur_values, bins=edges)[0]),
        }
    ref_s = pd.Series([str(v) for v in reference if v is not None], dtype=object)
    cur_s = pd.Series([str(v) for v in current if v is not None], dtype=object)
    labels = sorted(set(ref_s) | set(cur_s))
    return {
        "kind": "category",
        "categories": labels,
        "reference": _shares(ref_s.value_counts().reindex(labels, fill_value=0).to_numpy()),
        "current": _shares(cur_s.value_counts().reindex(labels, fill_value=0).to_numpy()),
    }


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [round(float(c) / total, 6) if total else 0.0 for c in counts]
