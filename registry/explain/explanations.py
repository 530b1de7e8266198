"""Why one answer: an effect per input that adds up exactly to the answer minus the baseline.

The effects are Shapley values over the interface's raw inputs (an input a pipeline one-hot
encodes is still one player), with the interventional value function: the worth of a set of
inputs is the average answer when those inputs take the row's values and the others take a
background row's. The background is a fixed, evenly spaced sample of the version's reference
rows; the ``baseline`` is the average answer over exactly those rows, and the response says how
many there were.

Two estimators, both one vectorised batch through the whole model:

- **exact** (few inputs): every coalition against every background row, then the Shapley
  formula. Matches brute-force enumeration.
- **sampled** (many inputs): each background row walks to the explained row along random
  orders of the inputs (an order and its reverse, which cancels much of the noise); an input's
  effect is the average jump when it switches. Each walk starts at a background row and ends at
  the explained row, so the jumps telescope: baseline + Σ effects equals the answer exactly,
  whatever the number of walks. Steps that switch an input to the value it already had are not
  scored (they cannot move the answer).

Why not shap's TreeExplainer: measured on a 100-tree forest pipeline with the same 48
background rows, it costs 12 ms of CPU per answer against 14 ms here at 10 inputs and 20 ms at
30 (bench/explain_time.py --shap). It is a little cheaper, but it explains the encoded columns
of a pipeline's last step (its maskers do not take string categories; summing a one-hot
input's columns is not that input's Shapley value), serves trees only, and needs every pipeline
split at its encoder. One model-agnostic batch serves every model the portal registers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from threadpoolctl import ThreadpoolController

from registry.inference import Scores, followed_class, score, score_unchecked
from registry.interface import Interface, InvalidInput, echo, native

# Background rows: more lowers the noise of sampled effects and costs rows in the batch.
BACKGROUND_ROWS = 48
# Rows one explanation may score (besides the background); sets how many walks are sampled.
MAX_ROWS = 900
# Exact enumeration up to this many inputs when it fits MAX_ROWS (2^n coalitions x background).
EXACT_MAX_INPUTS = 10


@cache
def _threads() -> ThreadpoolController:
    # Made on first use, not on import: listing the native thread pools loaded by then took
    # ~7 ms of every server's start, and only score_batch (below) needs it.
    return ThreadpoolController()


def score_batch(
    estimator: Any, frame: pd.DataFrame, interface: Interface, *, check: bool = True
) -> Scores:
    """:func:`score` on one OpenMP thread (:func:`score_unchecked` without ``check``).

    Histogram gradient boosting predicts with OpenMP threads that spin while they wait: on a
    shared two-core machine a 1,700-row batch took 8 s of wall time with them and 0.17 s on
    one thread (bench/explain_time.py). A web worker serves one request per core anyway.
    """
    with _threads().limit(limits=1, user_api="openmp"):
        return (score if check else score_unchecked)(estimator, frame, interface)


@dataclass
class Background:
    """The reference rows an explanation starts from, with the model's answers on them."""

    frame: pd.DataFrame
    outputs: np.ndarray  # (rows, classes) probabilities, or (rows,) values
    classes: list[str] = field(default_factory=list)


@dataclass
class Explanation:
    """One answer explained: ``baseline + sum(effect) == answer`` to within 1e-6."""

    task: str
    explained: str
    target_class: str | None
    answer: float
    baseline: float
    baseline_rows: int
    method: str
    prediction: dict[str, Any]
    contributions: list[dict[str, Any]]
    summary: str = ""


def _outputs(estimator: Any, frame: pd.DataFrame, interface: Interface) -> tuple[np.ndarray, list]:
    scores = score_batch(estimator, frame, interface)
    if scores.task == "regression":
        return scores.values, []
    if scores.probabilities is None:
        raise ValidationError(
            {
                "inputs": [
                    "This model gives labels only, without probabilities: it cannot be explained."
                ]
            }
        )
    return scores.probabilities, [str(c) for c in scores.classes]


def explanation_background(
    *,
    estimator: Any,
    interface: Interface,
    reference: Sequence[Mapping[str, Any]],
    rows: int = BACKGROUND_ROWS,
) -> Background:
    """A fixed, evenly spaced sample of reference rows and the model's answers on them.

    Raises ``ValidationError`` when the version has no reference rows (nothing to explain
    against).
    """
    records = [{n: r.get(n) for n in interface.names} for r in reference]
    if not records:
        raise ValidationError(
            {"inputs": ["This version has no reference rows, so its answers have no baseline."]}
        )
    picks = np.unique(np.linspace(0, len(records) - 1, min(rows, len(records))).round().astype(int))
    try:
        frame = interface.validate([records[i] for i in picks]).frame
    except InvalidInput:
        # A reference row the interface now refuses (it cannot happen at registration, but a
        # hand-edited interface could): explain against the rows it still takes.
        check = interface.validate_frame(pd.DataFrame([records[i] for i in picks]))
        frame = check.frame.reset_index(drop=True)
        if frame.empty:
            raise ValidationError(
                {"inputs": ["No reference row fits the interface, so there is no baseline."]}
            ) from None
    outputs, classes = _outputs(estimator, frame, interface)
    return Background(frame=frame.reset_index(drop=True), outputs=outputs, classes=classes)


def _class_index(classes: list[str], wanted: Any, predicted: str) -> int:
    chosen = str(wanted) if wanted not in (None, "") else followed_class(classes, None, predicted)
    if chosen not in classes:
        raise ValidationError(
            {"class": [f"Unknown class {echo(chosen)}; choose one of: {', '.join(classes)}."]}
        )
    return classes.index(chosen)


def _column_arrays(frame: pd.DataFrame) -> list[np.ndarray]:
    return [frame[name].to_numpy() for name in frame.columns]


def _mixed_frame(
    names: list[str],
    x: list[np.ndarray],
    background: list[np.ndarray],
    from_x: np.ndarray,
    rows_of: np.ndarray,
) -> pd.DataFrame:
    """Rows taking input j from ``x`` where ``from_x[:, j]``, else from background row
    ``rows_of``: one column at a time, so types stay as the model was trained on."""
    columns = {}
    for j, name in enumerate(names):
        base = background[j][rows_of]
        mine = x[j]
        if base.dtype != mine.dtype:
            base = base.astype(object)
            mine = mine.astype(object)
        columns[name] = np.where(from_x[:, j], mine[0], base)
    return pd.DataFrame(columns, columns=names)


def _exact_rows(n: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every coalition but the empty and full ones, against every background row."""
    masks = np.arange(1, 2**n - 1)  # the empty and full coalitions are the baseline and x
    bits = ((masks[:, None] >> np.arange(n)) & 1).astype(bool)
    return masks, np.repeat(bits, b, axis=0), np.tile(np.arange(b), len(masks))


def _exact_effects(n: int, fb: np.ndarray, fx: float, batch: np.ndarray) -> np.ndarray:
    """The Shapley formula over the worth of every coalition."""
    b = len(fb)
    values = np.empty(2**n)
    values[0], values[-1] = fb.mean(), fx
    values[1:-1] = batch.reshape(2**n - 2, b).mean(axis=1)
    all_masks = np.arange(2**n)
    sizes = np.array([m.bit_count() for m in range(2**n)])
    weights = np.array(
        [math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)]
    )
    effects = np.zeros(n)
    for i in range(n):
        without = all_masks[(all_masks >> i) & 1 == 0]
        gains = values[without | (1 << i)] - values[without]
        effects[i] = (weights[sizes[without]] * gains).sum()
    return effects


@dataclass
class _Walks:
    orders: np.ndarray  # (walks, n): the input switched at each step
    start: np.ndarray  # (walks,): the background row each walk starts from
    moves: np.ndarray  # (walks, n): the step changes the row
    scored: np.ndarray  # (walks, n): the step's row must be scored
    from_x: np.ndarray  # (scored rows, n): which inputs the scored rows take from x
    rows_of: np.ndarray  # (scored rows,): their background row


def _walks(x_cols, bg_cols, n: int, b: int, *, rows: int, seed: int) -> _Walks:
    """Random orders of the inputs (each with its reverse) from each background row to x."""
    per_row = max(1, rows // max(1, b * (n - 1)))
    per_row += per_row % 2  # orders come in pairs with their reverse
    rng = np.random.default_rng(seed)
    half = np.argsort(rng.random((b * per_row // 2, n)), axis=1)
    orders = np.concatenate([half, half[:, ::-1]])
    walks = len(orders)
    start = np.tile(np.arange(b), per_row)
    differs = np.ones((b, n), dtype=bool)
    for j in range(n):
        try:
            same = np.asarray(bg_cols[j] == x_cols[j][0])
        except (TypeError, ValueError):
            continue
        if same.shape == (b,):
            differs[:, j] = ~same.astype(bool)
    moves = np.take_along_axis(differs[start], orders, axis=1)
    # After a walk's last move the row is x itself, already scored.
    remaining = np.cumsum(moves[:, ::-1], axis=1)[:, ::-1]
    scored = moves & (remaining > 1)
    walk_of, step_of = np.nonzero(scored)
    position = np.empty_like(orders)
    np.put_along_axis(position, orders, np.broadcast_to(np.arange(n), (walks, n)), axis=1)
    from_x = position[walk_of] <= step_of[:, None]
    return _Walks(orders, start, moves, scored, from_x, start[walk_of])


def _walk_effects(w: _Walks, n: int, fb: np.ndarray, fx: float, batch: np.ndarray) -> np.ndarray:
    """Average jump of the answer when each input switches; telescopes to fx - mean(fb)."""
    walks = len(w.orders)
    answers = np.empty((walks, n + 1))
    answers[:, 0] = fb[w.start]
    at = np.zeros((walks, n))
    at[w.scored] = batch  # np.nonzero order is row-major, as the batch was built
    for k in range(n):
        column = answers[:, k].copy()
        column[w.scored[:, k]] = at[w.scored[:, k], k]
        column[w.moves[:, k] & ~w.scored[:, k]] = fx
        answers[:, k + 1] = column
    answers[:, n] = fx  # every walk ends at the explained row
    effects = np.zeros(n)
    np.add.at(effects, w.orders, np.diff(answers, axis=1))
    return effects / walks


@dataclass
class ExplanationRows:
    """The rows an explanation asks the model about, besides the explained row itself."""

    frame: pd.DataFrame
    exact: bool
    walks: _Walks | None


def explanation_rows(
    *,
    interface: Interface,
    row: pd.DataFrame,
    background: Background,
    target_class: Any = None,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
    exact: bool | None = None,
) -> ExplanationRows:
    """The rows :func:`explain` scores after the explained row (see there for the options).

    Raises ``ValidationError`` for a class the model does not give, or any class for a
    regressor.
    """
    row = row.iloc[:1].reset_index(drop=True)
    names = list(interface.names)
    n, b = len(names), len(background.frame)
    if interface.task == "regression" and target_class not in (None, ""):
        raise ValidationError({"class": ["A regression model's answer has no class."]})
    if interface.task == "classification" and target_class not in (None, ""):
        _class_index(background.classes, target_class, "")
    x_cols = _column_arrays(row)
    bg_cols = _column_arrays(background.frame[names])
    use_exact = exact if exact is not None else n <= EXACT_MAX_INPUTS and (2**n - 2) * b <= max_rows
    walks = None
    if use_exact:
        _, from_x, rows_of = _exact_rows(n, b)
    else:
        walks = _walks(x_cols, bg_cols, n, b, rows=max_rows, seed=seed)
        from_x, rows_of = walks.from_x, walks.rows_of
    frame = _mixed_frame(names, x_cols, bg_cols, from_x, rows_of)
    return ExplanationRows(frame=frame, exact=use_exact, walks=walks)


def explanation_from(
    *,
    interface: Interface,
    row: pd.DataFrame,
    background: Background,
    rows: ExplanationRows,
    answer: Scores,
    scores: Scores,
    target_class: Any = None,
) -> Explanation:
    """The explanation from the explained row's ``answer`` and the ``scores`` of ``rows``
    (:func:`explanation_rows`), in order."""
    row = row.iloc[:1].reset_index(drop=True)
    names = list(interface.names)
    n, b = len(names), len(background.frame)
    if interface.task == "classification":
        if answer.probabilities is None:
            raise ValidationError(
                {"inputs": ["This model gives labels only, without probabilities."]}
            )
        prediction = answer.record(0)
        classes = [str(c) for c in answer.classes]
        index = _class_index(classes, target_class, str(prediction["label"]))
        chosen = classes[index]
        fx = float(answer.probabilities[0, index])
        batch = scores.probabilities[:, index]
        fb = np.asarray(background.outputs[:, index], dtype="float64")
        explained = f"probability of {chosen}"
    else:
        prediction = {"value": float(answer.values[0])}
        chosen = None
        fx = float(answer.values[0])
        batch = scores.values
        fb = np.asarray(background.outputs, dtype="float64")
        explained = f"value of {interface.output.get('target') or 'the prediction'}"
    if rows.exact:
        effects = _exact_effects(n, fb, fx, batch)
    else:
        effects = _walk_effects(rows.walks, n, fb, fx, batch)
    contributions = [
        {
            "input": name,
            "label": interface.by_name[name].spec.get("label") or name,
            "value": native(row[name].iloc[0]),
            "effect": float(effect),
        }
        for name, effect in zip(names, effects, strict=True)
    ]
    result = Explanation(
        task=interface.task,
        explained=explained,
        target_class=chosen,
        answer=fx,
        baseline=float(fb.mean()),
        baseline_rows=b,
        method="exact" if rows.exact else "sampled",
        prediction=prediction,
        contributions=contributions,
    )
    result.summary = explanation_summary(explanation=result, interface=interface)
    return result


def explain(
    *,
    estimator: Any,
    interface: Interface,
    row: pd.DataFrame,
    background: Background,
    target_class: Any = None,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
    exact: bool | None = None,
) -> Explanation:
    """Explain the answer for one validated row (a one-row frame in the model's columns).

    For a classifier the explained answer is the probability of ``target_class`` (by default
    the class :func:`registry.inference.followed_class` picks); for a regressor, the value.
    ``exact`` forces (True) or forbids (False) coalition enumeration; by default it is used
    when it fits ``max_rows``. The row and every row of the estimate go through the model in
    one call. The same row always gets the same effects (the sampling is seeded).
    """
    row = row.iloc[:1].reset_index(drop=True)
    rows = explanation_rows(
        interface=interface,
        row=row,
        background=background,
        target_class=target_class,
        max_rows=max_rows,
        seed=seed,
        exact=exact,
    )
    scores = score_batch(estimator, pd.concat([row, rows.frame], ignore_index=True), interface)
    return explanation_from(
        interface=interface,
        row=row,
        background=background,
        rows=rows,
        answer=scores.rows(0, 1),
        scores=scores.rows(1, 1 + len(rows.frame)),
        target_class=target_class,
    )


# ------------------------------------------------------------------ the sentence
def label_in_sentence(label: str) -> str:
    """A label as it reads mid-sentence: "Bill length" -> "bill length"; "BMI" stays."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def value_text(value: Any, spec: Mapping[str, Any]) -> str:
    """An input's value as the sentence writes it (six significant figures, its unit): the
    one rounding of inputs wherever a page shows them beside the sentence."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    unit = spec.get("unit")
    return f"{text} {unit}" if unit and isinstance(value, int | float) else text


def effect_text(effect: float, probability: bool, unit: str | None = None) -> str:
    """An effect as the sentence and the waterfall both write it: a probability's in points
    ("+31 points", "-0.4 points"), a value's to three figures with its unit ("+46 kg")."""
    sign = "+" if effect >= 0 else "−"
    size = abs(effect)
    if probability:
        points = size * 100
        shown = f"{points:.0f}" if points >= 1 else f"{points:.1f}"
        return f"{sign}{shown} point{'s' * (shown != '1')}"
    text = f"{size:.3g}"
    return f"{sign}{text}{' ' + unit if unit else ''}"


def answer_text(value: float, probability: bool, unit: str | None = None) -> str:
    """An answer (or the baseline) as the page's headline writes it: a probability in whole
    percent ("97%"), a value to four figures ("161.4", "1,204") with its unit."""
    if probability:
        return f"{value * 100:.0f}%"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return f"{text}{' ' + unit if unit else ''}"


# The inputs the sentence names carry "mainly" the movement when they make at least this
# share of it (the sum of every input's effect, each counted by its size).
MAINLY_SHARE = 0.5


def explanation_summary(*, explanation: Explanation, interface: Interface, top: int = 2) -> str:
    """The explanation as one sentence, from the interface's labels and units.

    "Adelie (97%), mainly because bill length is 39.1 mm (+31 points) and island is Torgersen
    (+12 points); flipper length 181 mm pulled it down (-4 points)." The "because" names the
    inputs that moved the answer the way it went from the average (up or down), the rest the
    strongest ones against; a regressor's answer also gives the average. "Mainly" only when
    the inputs named carry at least half of all the movement; otherwise the sentence says
    the push is spread, names the largest, and sums the others ("…, spread over many
    inputs: A 1.5 (+2 points), B 3 (+2 points) and 20 other inputs (+8 points together)").
    Inputs whose effect is under a hundredth of the largest are left
    out.
    """
    probability = explanation.task == "classification"
    unit = None if probability else interface.output.get("unit")
    if probability:
        head = f"{explanation.target_class} ({answer_text(explanation.answer, True)})"
    else:
        target = interface.output.get("target") or "Prediction"
        value = answer_text(explanation.answer, False, unit)
        average = answer_text(explanation.baseline, False)
        head = f"{target[:1].upper()}{target[1:]} {value} (average {average})"
    contributions = explanation.contributions
    largest = max((abs(c["effect"]) for c in contributions), default=0.0)
    floor = max(largest / 100, 1e-9)
    ups = sorted((c for c in contributions if c["effect"] >= floor), key=lambda c: -c["effect"])
    downs = sorted((c for c in contributions if c["effect"] <= -floor), key=lambda c: c["effect"])
    went_up = explanation.answer >= explanation.baseline
    reasons, against = (ups, downs) if went_up else (downs, ups)

    def amount(c) -> str:
        return effect_text(c["effect"], probability, unit)

    def value_of(c) -> str:
        return value_text(c["value"], interface.by_name[c["input"]].spec)

    parts = [head]
    if reasons:
        named = reasons[:top]
        movement = sum(abs(c["effect"]) for c in contributions)
        share = sum(abs(c["effect"]) for c in named) / movement if movement else 1.0
        others = reasons[top:]
        if share >= MAINLY_SHARE or not others:
            because = " and ".join(
                f"{label_in_sentence(c['label'])} is {value_of(c)} ({amount(c)})" for c in named
            )
            parts.append(f", mainly because {because}")
        else:
            largest_ones = ", ".join(
                f"{label_in_sentence(c['label'])} {value_of(c)} ({amount(c)})" for c in named
            )
            together = effect_text(sum(c["effect"] for c in others), probability, unit)
            parts.append(
                f", spread over many inputs: {largest_ones} and {len(others)} other "
                f"input{'s' * (len(others) > 1)} ({together} together)"
            )
    if against:
        verb = "pulled it down" if went_up else "pushed it up"
        shown = against[:top]
        if len(shown) == 1:
            # "X pulled it down (-4 points)" reads better than "X (-4 points) pulled it down".
            c = shown[0]
            parts.append(f"; {label_in_sentence(c['label'])} {value_of(c)} {verb} ({amount(c)})")
        else:
            names = " and ".join(
                f"{label_in_sentence(c['label'])} {value_of(c)} ({amount(c)})" for c in shown
            )
            parts.append(f"; {names} {verb}")
    return "".join(parts) + "."
