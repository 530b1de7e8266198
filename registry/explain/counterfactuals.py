"""What would it take: the smallest changes of actionable inputs that get another answer.

The search scores candidate rows through the whole model in vectorised batches, cheapest ideas
first, inside a time budget:

1. every single input moved over its allowed values (a fine grid for numbers);
2. pairs of the inputs that moved the answer most towards the target, on a coarser grid;
3. random rows changing up to ``max_changes`` inputs, while time is left and few were found;
4. each answer found is pulled back towards the original row, input by input (reverting an
   input whenever the target still holds), then polished between grid points.

An input moves only when it is actionable, not fixed by the caller, of an orderable or
categorical type, and only within the interface: its observed range intersected with its hard
limits, on its step, in its declared direction. Cost is the change measured in each input's
spread (its reference rows' median absolute deviation, scaled to a standard deviation), one per
category or boolean changed. Every answer returned is rebuilt from its JSON values, validated by
the interface and re-scored through the model before it is returned.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError

from registry.explain.explanations import label_in_sentence, score_batch
from registry.inference import Scores
from registry.interface import InputField, Interface, echo, native

MAX_COUNT = 10
MAX_CHANGES = 5
# How clearly an answer must reach its target, in points: a class's probability ahead of the
# next class's by this many percentage points (50% against 50% is a coin flip, not the
# target), or a value inside a range by this share of it (see ``Target.needed``).
MARGIN_POINTS = 5.0
MAX_MARGIN_POINTS = 50.0
BUDGET_SECONDS = 0.5
HARD_BUDGET_SECONDS = 1.0  # never searched longer, whatever the caller asks
GRID_POINTS = 41
PAIR_POINTS = 8
PAIR_ROWS = 1500
BATCH_ROWS = 2000
_MOVABLE = ("number", "integer", "boolean", "category")


@dataclass
class Target:
    """A class to reach, or a range of values (either end open) for a regressor."""

    label: str | None = None
    low: float | None = None
    high: float | None = None
    margin: float = MARGIN_POINTS

    def needed(self, current: float | None = None) -> float:
        """How far past the target's edge an answer must be: for a class, the margin as a
        probability; for a range with both ends, that share of its width; with one end, that
        share of the way from the current answer to it (a value, not a share, has no other
        scale to measure by)."""
        share = self.margin / 100
        if self.label is not None:
            return share
        if self.low is not None and self.high is not None:
            return share * (self.high - self.low)
        edge = self.low if self.low is not None else self.high
        if current is None or not math.isfinite(current):
            return 0.0
        return share * abs(edge - current)

    def text(self, unit: str | None = None) -> str:
        if self.label is not None:
            return self.label
        u = f" {unit}" if unit else ""
        if self.low is not None and self.high is not None:
            return f"a value between {self.low:g} and {self.high:g}{u}"
        if self.low is not None:
            return f"a value of at least {self.low:g}{u}"
        return f"a value of at most {self.high:g}{u}"


@dataclass
class Search:
    """The answers found (cheapest first) and what was searched."""

    prediction: dict[str, Any]
    target: Target
    counterfactuals: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    rows_scored: int = 0
    seconds: float = 0.0
    # How far past the target's edge every answer is (a probability lead, or a value).
    needed: float = 0.0

    def margin_text(self, unit: str | None = None) -> str:
        """What the margin asks, in words ("" when there is none to keep)."""
        if self.needed <= 0:
            return ""
        if self.target.label is not None:
            return f"ahead of every other class by at least {self.target.margin:g} points"
        u = f" {unit}" if unit else ""
        return f"at least {self.needed:.3g}{u} inside the range"


def counterfactual_target(
    *, interface: Interface, target: Any, margin: float = MARGIN_POINTS
) -> Target:
    """The caller's target checked against the interface (a known class, or a range), to be
    reached by ``margin`` points (see ``Target.needed``)."""
    if (
        isinstance(margin, bool)
        or not isinstance(margin, int | float)
        or not math.isfinite(margin)
        or not 0 <= margin <= MAX_MARGIN_POINTS
    ):
        raise ValidationError({"margin": [f"Choose between 0 and {MAX_MARGIN_POINTS:g} points."]})
    margin = float(margin)
    if interface.task == "classification":
        if isinstance(target, bool) or not isinstance(target, str | int | float) or target == "":
            raise ValidationError({"target": ["Name the class to reach."]})
        label = str(target)[:200]
        classes = [str(c) for c in interface.classes]
        if label not in classes:
            raise ValidationError(
                {"target": [f"Unknown class {echo(label)}; choose one of: {', '.join(classes)}."]}
            )
        return Target(label=label, margin=margin)
    if not isinstance(target, Mapping) or not ({"min", "max"} & set(target)):
        raise ValidationError({"target": ['Give a range of values: {"min": …, "max": …}.']})
    unknown = set(target) - {"min", "max"}
    if unknown:
        raise ValidationError({"target": [f"Unknown key: {', '.join(sorted(unknown))}."]})
    ends = {}
    for key in ("min", "max"):
        value = target.get(key)
        if value is None:
            ends[key] = None
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValidationError({"target": [f"'{key}' must be a finite number."]})
        ends[key] = float(value)
    if ends["min"] is not None and ends["max"] is not None and ends["min"] > ends["max"]:
        raise ValidationError({"target": ["'min' must not be above 'max'."]})
    return Target(low=ends["min"], high=ends["max"], margin=margin)


def _spread(f: InputField, reference: pd.DataFrame | None) -> float:
    """One unit of change for an input: its reference rows' scaled MAD (else std, else range)."""
    if f.type in ("category", "boolean"):
        return 1.0
    values = None
    if reference is not None and f.name in reference:
        values = pd.to_numeric(reference[f.name], errors="coerce").dropna().to_numpy(float)
    if values is not None and len(values) > 1:
        mad = float(np.median(np.abs(values - np.median(values)))) * 1.4826
        if mad > 0:
            return mad
        std = float(values.std())
        if std > 0:
            return std
    low, high = f.observed_min, f.observed_max
    if low is not None and high is not None and high > low:
        return (high - low) / 4
    return float(f.spec.get("step") or 1.0)


def _bounds(f: InputField, current: Any, reference: pd.DataFrame | None) -> tuple[float, float]:
    low = f.observed_min
    high = f.observed_max
    if (low is None or high is None) and reference is not None and f.name in reference:
        column = pd.to_numeric(reference[f.name], errors="coerce").dropna()
        if len(column):
            low = column.min() if low is None else low
            high = column.max() if high is None else high
    low = f.min if low is None else (low if f.min is None else max(low, f.min))
    high = f.max if high is None else (high if f.max is None else min(high, f.max))
    if low is None or high is None:
        return (math.nan, math.nan)
    if f.direction == "increase":
        low = max(low, current)
    elif f.direction == "decrease":
        high = min(high, current)
    return float(low), float(high)


def _snap(values: np.ndarray, f: InputField, low: float, high: float) -> np.ndarray:
    """Values on the input's step and inside [low, high] (rounded inwards at the ends)."""
    step = f.spec.get("step")
    if f.type == "integer":
        step = max(1, round(step or 1))
    if step:
        snapped = np.round(values / step) * step
        snapped = np.where(snapped < low - 1e-9, snapped + step, snapped)
        snapped = np.where(snapped > high + 1e-9, snapped - step, snapped)
        decimals = max(0, -math.floor(math.log10(step))) + 2 if step < 1 else 0
        values = np.round(snapped, decimals)
    values = values[(values >= low - 1e-9) & (values <= high + 1e-9)]
    if f.type == "integer":
        return np.unique(values.round().astype("int64"))
    return np.unique(values.astype("float64"))


def _allowed(f: InputField, current: Any, reference: pd.DataFrame | None) -> np.ndarray:
    """Every value the search may give an input, the current one excluded."""
    if f.type == "category":
        return np.array([c for c in f.choices if c != current], dtype=object)
    if f.type == "boolean":
        if f.direction == "increase":
            options = [True] if not current else []
        elif f.direction == "decrease":
            options = [False] if current else []
        else:
            options = [not bool(current)]
        return np.array(options, dtype=bool)
    if current is None or (isinstance(current, float) and math.isnan(current)):
        return np.array([])
    low, high = _bounds(f, current, reference)
    if math.isnan(low) or high < low:
        return np.array([])
    values = _snap(np.linspace(low, high, GRID_POINTS), f, low, high)
    return values[values != current]


class _Space:
    """The row being changed, which inputs may move, their values and their costs."""

    def __init__(self, interface: Interface, row: pd.DataFrame, movable: list[int], reference):
        self.names = interface.names
        self.row = row
        self.x = [row[name].to_numpy() for name in self.names]
        self.fields = interface.fields
        self.movable = movable
        self.values = {
            j: _allowed(self.fields[j], native(self.x[j][0]), reference) for j in movable
        }
        self.movable = [j for j in movable if len(self.values[j])]
        self.bounds = {
            j: _bounds(self.fields[j], native(self.x[j][0]), reference)
            for j in self.movable
            if self.fields[j].type in ("number", "integer")
        }
        self.spread = {j: _spread(self.fields[j], reference) for j in self.movable}

    def rows(self, m: int) -> list[np.ndarray]:
        """``m`` copies of the row, one array per input, ready to be changed."""
        columns = []
        for j, f in enumerate(self.fields):
            column = np.repeat(self.x[j], m)
            if f.type == "category":
                column = column.astype(object)
            elif f.type == "number":
                column = column.astype("float64")
            columns.append(column)
        return columns

    def frame(self, columns: list[np.ndarray]) -> pd.DataFrame:
        return pd.DataFrame(dict(zip(self.names, columns, strict=True)), columns=self.names)

    def changed(self, columns: list[np.ndarray]) -> np.ndarray:
        return np.stack([columns[j] != self.x[j][0] for j in range(len(self.names))], axis=1)

    def cost(self, columns: list[np.ndarray]) -> np.ndarray:
        total = np.zeros(len(columns[0]))
        for j in self.movable:
            f = self.fields[j]
            if f.type in ("number", "integer"):
                total += np.abs(columns[j].astype(float) - float(self.x[j][0])) / self.spread[j]
            else:
                total += columns[j] != self.x[j][0]
        return total


def _concat(parts: list[list[np.ndarray]]) -> list[np.ndarray]:
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return []
    return [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]


def _take(columns: list[np.ndarray], index: np.ndarray) -> list[np.ndarray]:
    return [c[index] for c in columns]


def _singles(space: _Space) -> list[np.ndarray]:
    parts = []
    for j in space.movable:
        values = space.values[j]
        columns = space.rows(len(values))
        columns[j] = values.astype(columns[j].dtype)
        parts.append(columns)
    return _concat(parts)


def _coarse(values: np.ndarray, points: int) -> np.ndarray:
    if len(values) <= points:
        return values
    return values[np.unique(np.linspace(0, len(values) - 1, points).round().astype(int))]


def _pairs(space: _Space, inputs: list[int], limit: int) -> list[np.ndarray]:
    parts, total = [], 0
    for j, k in itertools.combinations(inputs, 2):
        vj, vk = _coarse(space.values[j], PAIR_POINTS), _coarse(space.values[k], PAIR_POINTS)
        m = len(vj) * len(vk)
        if total + m > limit:
            break
        columns = space.rows(m)
        columns[j] = np.repeat(vj, len(vk)).astype(columns[j].dtype)
        columns[k] = np.tile(vk, len(vj)).astype(columns[k].dtype)
        parts.append(columns)
        total += m
    return _concat(parts)


def _random(space: _Space, inputs: list[int], max_changes: int, m: int, rng) -> list[np.ndarray]:
    columns = space.rows(m)
    k = min(max_changes, len(inputs))
    sizes = rng.integers(1, k + 1, size=m)
    picks = np.argsort(rng.random((m, len(inputs))), axis=1)
    for slot in range(k):
        use = sizes > slot
        chosen = np.asarray(inputs)[picks[:, slot]]
        for j in inputs:
            rows = np.flatnonzero(use & (chosen == j))
            if len(rows):
                values = space.values[j]
                columns[j][rows] = values[rng.integers(0, len(values), size=len(rows))]
    return columns


def _towards(space: _Space, found: list[np.ndarray], polish: bool) -> list[np.ndarray]:
    """Variants of each row with one changed input pulled back towards the original value
    (reverted, or any allowed value between); ``polish`` tries points between grid values."""
    parts = []
    changed = space.changed(found)
    for i in range(len(found[0])):
        for j in np.flatnonzero(changed[i]):
            if j not in space.values:
                continue
            now, start = found[j][i], space.x[j][0]
            f = space.fields[j]
            if f.type in ("number", "integer"):
                values = space.values[j]
                lo, hi = sorted((float(start), float(now)))
                between = values[(values > lo) & (values < hi)]
                if polish and len(values) > 1:
                    gap = float(np.min(np.diff(np.sort(values))))
                    near = np.linspace(float(now) - gap, float(now) + gap, 9)
                    low, high = space.bounds[j]
                    near = _snap(near, f, max(low, lo), min(high, hi))
                    between = np.concatenate([between, near])
                options = np.concatenate([[start], between]).astype(found[j].dtype)
            else:
                options = np.array([start], dtype=found[j].dtype)
            options = options[options != now]
            if not len(options):
                continue
            columns = [np.repeat(c[i : i + 1], len(options)) for c in found]
            columns[j] = options
            parts.append(columns)
    return _concat(parts)


def counterfactuals_find(
    *,
    estimator: Any,
    interface: Interface,
    row: pd.DataFrame,
    target: Target,
    reference: pd.DataFrame | None = None,
    fixed: Iterable[str] = (),
    max_changes: int = 2,
    count: int = 3,
    budget: float = BUDGET_SECONDS,
    seed: int = 0,
) -> Search:
    """Up to ``count`` diverse rows that get ``target``, each changing at most ``max_changes``
    movable inputs of the validated one-row frame ``row``, cheapest first.

    ``reference`` (validated reference rows) gives each input's spread and, where the
    interface has no observed range, its range. Raises ``ValidationError`` naming the field for
    an unknown fixed input or a count or max_changes out of range.
    """
    started = time.perf_counter()
    deadline = started + min(budget, HARD_BUDGET_SECONDS)
    fixed = list(fixed)
    unknown = [name for name in fixed if name not in interface.by_name]
    if unknown:
        raise ValidationError({"fixed": [f"Unknown input: {', '.join(map(str, unknown))}."]})
    if not 1 <= max_changes <= MAX_CHANGES:
        raise ValidationError({"max_changes": [f"Choose between 1 and {MAX_CHANGES}."]})
    if not 1 <= count <= MAX_COUNT:
        raise ValidationError({"count": [f"Choose between 1 and {MAX_COUNT}."]})
    row = row.iloc[:1].reset_index(drop=True)
    movable = [
        j
        for j, f in enumerate(interface.fields)
        if f.actionable and f.name not in fixed and f.type in _MOVABLE
    ]
    space = _Space(interface, row, movable, reference)
    # The row itself and every single change go through the model in one call.
    singles = _singles(space) if space.movable else []
    batch = _concat([space.rows(1), singles] if singles else [space.rows(1)])
    scores = score_batch(estimator, space.frame(batch), interface)
    need = target.needed(None if target.label is not None else float(scores.values[0]))
    ok, margin = _valid(scores, target, need)
    search = Search(prediction=scores.record(0), target=target, needed=need)
    if target.label is not None and scores.probabilities is None:
        search.needed = 0.0  # a labels-only model gives no probabilities to keep a margin by
    unit = interface.output.get("unit")
    if ok[0]:
        by = f", {search.margin_text(unit)}" if search.needed > 0 else ""
        search.message = f"The answer is already {target.text(unit)}{by}."
        return search
    if not space.movable:
        search.message = (
            "No input can change: every input is fixed, not actionable, or at the end of its "
            "allowed range."
        )
        return search
    rng = np.random.default_rng(seed)
    found: list[list[np.ndarray]] = []
    rows_scored = len(ok)
    base_margin, ok, margin = margin[0], ok[1:], margin[1:]
    if ok.any():
        found.append(_take(singles, np.flatnonzero(ok)))

    def run(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        nonlocal rows_scored
        if not columns:
            return np.zeros(0, bool), np.zeros(0)
        scores = score_batch(estimator, space.frame(columns), interface)
        rows_scored += len(columns[0])
        ok, margin = _valid(scores, target, need)
        if ok.any():
            found.append(_take(columns, np.flatnonzero(ok)))
        return ok, margin

    if max_changes >= 2 and len(space.movable) >= 2 and time.perf_counter() < deadline:
        # The inputs that moved the answer most towards the target go first into pairs.
        gain = {}
        changed = space.changed(singles)
        for j in space.movable:
            rows = changed[:, j]
            gain[j] = float(margin[rows].max() - base_margin) if rows.any() else -math.inf
        ranked = sorted(space.movable, key=lambda j: -gain[j])
        run(_pairs(space, ranked, PAIR_ROWS))
    # Random rows only while singles and pairs gave fewer ideas (sets of changed inputs) than
    # asked for: until the budget when nothing is found yet, a few rounds otherwise.
    rounds = 0
    while (
        max_changes >= 2
        and _ideas(space, found) < count
        and (not found or rounds < 3)
        and time.perf_counter() < deadline - 0.1
    ):
        run(_random(space, space.movable, max_changes, BATCH_ROWS // 2, rng))
        rounds += 1
    for polish in (False, True):
        pool = _best(space, _concat(found), limit=40)
        if not pool or time.perf_counter() > deadline:
            break
        run(_towards(space, pool, polish))
    search.rows_scored = rows_scored
    candidates = _concat(found)
    picked = _diverse(space, candidates, count=count, max_changes=max_changes)
    search.counterfactuals = _rescored(space, estimator, interface, picked, target, need)
    search.seconds = time.perf_counter() - started
    if not search.counterfactuals:
        kept = [f.spec.get("label") or f.name for f in interface.fields if f.name in fixed]
        where = " within the observed ranges and allowed directions"
        by = f" by the margin ({search.margin_text(unit)})" if search.needed > 0 else ""
        search.message = (
            f"No change of ≤ {max_changes} input{'s' * (max_changes > 1)}{where} gets "
            f"{target.text(unit)}{by} ({rows_scored} rows tried"
            + (f"; kept fixed: {', '.join(kept)}" if kept else "")
            + ")."
        )
    return search


def _valid(scores: Scores, target: Target, need: float) -> tuple[np.ndarray, np.ndarray]:
    """Which rows reach the target by ``need`` (``Target.needed``), and how near each is."""
    if target.label is not None:
        classes = [str(c) for c in scores.classes]
        labels = np.array([str(v) for v in scores.labels], dtype=object)
        if scores.probabilities is None:
            ok = labels == target.label
            return ok, ok.astype(float) - 1
        index = classes.index(target.label)
        p = scores.probabilities
        others = np.delete(p, index, axis=1)
        margin = p[:, index] - (others.max(axis=1) if others.shape[1] else 0)
        return (labels == target.label) & (margin >= need - 1e-12), margin
    values = scores.values
    low = -np.inf if target.low is None else target.low
    high = np.inf if target.high is None else target.high
    margin = np.minimum(values - low, high - values)
    return (values >= low) & (values <= high) & (margin >= need - 1e-12), margin


def _ideas(space: _Space, found: list[list[np.ndarray]]) -> int:
    if not found:
        return 0
    return len(np.unique(space.changed(_concat(found)), axis=0))


def _best(space: _Space, columns: list[np.ndarray], *, limit: int) -> list[np.ndarray]:
    if not columns:
        return []
    order = np.argsort(space.cost(columns), kind="stable")
    return _take(columns, order[:limit])


def _diverse(
    space: _Space, columns: list[np.ndarray], *, count: int, max_changes: int
) -> list[np.ndarray]:
    """The cheapest rows, preferring different sets of changed inputs, no row twice."""
    if not columns:
        return []
    changed = space.changed(columns)
    sizes = changed.sum(axis=1)
    keep = (sizes >= 1) & (sizes <= max_changes)
    columns = _take(columns, np.flatnonzero(keep))
    changed = changed[keep]
    if not len(columns[0]):
        return []
    costs = space.cost(columns)
    order = np.argsort(costs, kind="stable")
    picked: list[int] = []
    sets: set[tuple] = set()
    seen: set[tuple] = set()
    for second_pass in (False, True):
        for i in order:
            if len(picked) >= count:
                break
            key = tuple(native(c[i]) for c in columns)
            inputs = tuple(np.flatnonzero(changed[i]))
            if key in seen or (not second_pass and inputs in sets):
                continue
            # A row that only adds changes to a cheaper pick's changes is no new idea.
            if any(set(s) < set(inputs) for s in sets):
                continue
            picked.append(i)
            seen.add(key)
            sets.add(inputs)
    picked.sort(key=lambda i: costs[i])
    return _take(columns, np.asarray(picked, dtype=int))


def _rescored(
    space: _Space,
    estimator: Any,
    interface: Interface,
    columns: list[np.ndarray],
    target: Target,
    need: float,
) -> list[dict[str, Any]]:
    """The picked rows as JSON, validated by the interface and re-scored through the model;
    a row that no longer reaches the target (it cannot, but nothing unchecked is shown) drops."""
    if not columns or not len(columns[0]):
        return []
    original = {name: native(space.x[j][0]) for j, name in enumerate(space.names)}
    rows = [
        {name: native(columns[j][i]) for j, name in enumerate(space.names)}
        for i in range(len(columns[0]))
    ]
    validated = interface.validate(rows)
    scores = score_batch(estimator, validated.frame, interface)
    ok, _ = _valid(scores, target, need)
    answers = scores.records()
    costs = space.cost(_column_lists(validated.frame, space.names))
    result = []
    for i, clean in enumerate(validated.rows):
        if not ok[i]:
            continue
        changes = [
            {
                "input": name,
                "label": interface.by_name[name].spec.get("label") or name,
                "from": original[name],
                "to": clean[name],
                "unit": interface.by_name[name].spec.get("unit"),
            }
            for name in space.names
            if clean[name] != original[name]
        ]
        for change in changes:
            change["text"] = counterfactual_text(change)
        result.append(
            {
                "changes": changes,
                "inputs": clean,
                "prediction": answers[i],
                "cost": round(float(costs[i]), 4),
            }
        )
    return sorted(result, key=lambda r: r["cost"])


def _column_lists(frame: pd.DataFrame, names: list[str]) -> list[np.ndarray]:
    return [frame[name].to_numpy() for name in names]


def counterfactual_text(change: Mapping[str, Any]) -> str:
    """One change as a person reads it: "change flipper length 181 → 214 mm"."""
    label = label_in_sentence(str(change["label"]))

    def shown(value: Any) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float):
            return f"{value:.6g}"
        return str(value)

    unit = change.get("unit")
    suffix = f" {unit}" if unit and isinstance(change["to"], int | float) else ""
    return f"change {label} {shown(change['from'])} → {shown(change['to'])}{suffix}"
