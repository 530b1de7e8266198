"""Recourse per group: how hard it is for the rows not given the favourable answer to get it.

For a sample of at most ``SAMPLE_ROWS`` such reference rows, the cheapest counterfactual is
searched (``registry.explain.counterfactuals``: actionable inputs only, in their directions,
the sensitive inputs themselves kept fixed, since changing one's group is no recourse). Its
cost, in spreads of each input, is the row's price; a group's figure is the median price of
its rows for which one was found. The sample is drawn round-robin across the groups of every
sensitive input so that a small group is not left out, and the whole search has a time budget
shared out between the rows left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from registry.explain.counterfactuals import Target, counterfactuals_find
from registry.interface import Interface

SAMPLE_ROWS = 200
BUDGET_SECONDS = 45.0
ROW_BUDGET_SECONDS = 0.5


@dataclass
class RecourseRows:
    """What recourse is computed from: validated reference inputs, their groups per sensitive
    input, and which rows were not given the favourable answer."""

    inputs: pd.DataFrame
    groups: dict[str, pd.Series]
    unfavourable: np.ndarray  # bool per row


def recourse_sample(rows: RecourseRows, *, limit: int | None = None, seed: int = 0) -> list[int]:
    """Up to ``limit`` (``SAMPLE_ROWS``) unfavourable rows, taken in turn from each group of
    each input."""
    limit = SAMPLE_ROWS if limit is None else limit
    rng = np.random.default_rng(seed)
    queues = []
    for groups in rows.groups.values():
        for group in sorted(set(groups[rows.unfavourable])):
            members = np.flatnonzero(rows.unfavourable & (groups.to_numpy() == group))
            queues.append(list(rng.permutation(members)))
    picked: list[int] = []
    seen: set[int] = set()
    while len(picked) < limit and any(queues):
        for queue in queues:
            while queue and queue[0] in seen:
                queue.pop(0)
            if queue and len(picked) < limit:
                row = int(queue.pop(0))
                seen.add(row)
                picked.append(row)
    return picked


def recourse_compute(
    *,
    estimator: Any,
    interface: Interface,
    rows: RecourseRows,
    target: Target,
    budget: float = BUDGET_SECONDS,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Per sensitive input, per group: rows sampled, rows with a counterfactual found, the
    median cost of the cheapest one, and the seconds spent on the group's rows."""
    started = time.perf_counter()
    sample = recourse_sample(rows)
    fixed = [name for name in rows.groups if name in interface.by_name]
    costs: dict[int, float | None] = {}
    seconds: dict[int, float] = {}
    for done, i in enumerate(sample):
        left = budget - (time.perf_counter() - started)
        if left <= 0:
            break
        share = min(ROW_BUDGET_SECONDS, left / (len(sample) - done))
        t0 = time.perf_counter()
        search = counterfactuals_find(
            estimator=estimator,
            interface=interface,
            row=rows.inputs.iloc[[i]],
            target=target,
            reference=rows.inputs,
            fixed=fixed,
            max_changes=2,
            count=1,
            budget=share,
        )
        seconds[i] = time.perf_counter() - t0
        found = search.counterfactuals
        costs[i] = float(found[0]["cost"]) if found else None
        if progress is not None and done % 10 == 9:
            progress((done + 1) / len(sample))
    by_input = {}
    for name, groups in rows.groups.items():
        entries = []
        for group in sorted(set(groups[rows.unfavourable])):
            members = [i for i in costs if groups.iloc[i] == group]
            priced = [costs[i] for i in members if costs[i] is not None]
            entries.append(
                {
                    "group": str(group),
                    "rows": len(members),
                    "found": len(priced),
                    "median_cost": round(float(np.median(priced)), 4) if priced else None,
                    "seconds": round(sum(seconds[i] for i in members), 3),
                }
            )
        by_input[name] = entries
    return {
        "inputs": by_input,
        "rows": len(costs),
        "sampled": len(sample),
        "unfavourable": int(rows.unfavourable.sum()),
        "seconds": round(time.perf_counter() - started, 3),
        "complete": len(costs) == len(sample),
    }
