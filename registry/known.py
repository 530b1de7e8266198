"""What a fitted model itself knows about its inputs, and the interface that knowledge gives.

Reference data (or an MLflow input example) shows some of each input; the model saw all of
its training data. A fitted ``OneHotEncoder`` or ``OrdinalEncoder`` holds every category it
was trained on (``categories_``), a ``MinMaxScaler`` the range it saw (``data_min_``,
``data_max_``); a model may also say itself (a ``known_inputs()`` method: a LightGBM
booster gives its ``pandas_categorical``; a booster's ``known_ranges()``, used only when there
are no rows, gives LightGBM's training ranges or XGBoost's split thresholds).
:func:`interface_enrich` adds that to an interface read from a few rows, so a category the
model was trained on is never refused because the rows at hand lacked it (an MLflow pipeline
imported with a three-row input example refused 'Biscoe', a category of its training data).
:func:`interface_from_model` builds the interface from the model alone when no rows are
given. Each returns notes saying where each piece came from, for the version's notes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError

from registry.interface import Interface, KnownInput, humanize, infer_output, native

# Column-preserving steps an encoder or scaler may follow and still see the raw inputs.
_PRESERVING = {"SimpleImputer"}
# Beyond this many categories an input stays free text.
MAX_KNOWN_CHOICES = 1000


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _columns_of(selection: Any, names_in: Sequence[str] | None) -> list[str] | None:
    """A ColumnTransformer's column selection as input names (None: a form not followed)."""
    if isinstance(selection, str):
        return [selection]
    if isinstance(selection, (int, np.integer)) and names_in is not None:
        return [str(names_in[int(selection)])]
    if isinstance(selection, slice) and names_in is not None:
        return [str(n) for n in list(names_in)[selection]]
    try:
        items = list(selection)
    except TypeError:
        return None  # a callable or another form: not followed
    if items and all(isinstance(i, (bool, np.bool_)) for i in items) and names_in is not None:
        return [str(n) for n, keep in zip(names_in, items, strict=False) if keep]
    if all(isinstance(i, str) for i in items):
        return list(items)
    if all(isinstance(i, (int, np.integer)) for i in items) and names_in is not None:
        return [str(names_in[int(i)]) for i in items]
    return None


def _learned(est: Any, columns: list[str], where: str, out: dict[str, KnownInput]) -> None:
    """What ``est`` (fitted, seeing ``columns`` as they are) knows, added to ``out``."""
    kind = type(est).__name__
    if kind == "Pipeline":
        fill = None
        for step_name, step in est.steps:
            if step is None or step == "passthrough":
                continue
            step_kind = type(step).__name__
            if step_kind in _PRESERVING and not getattr(step, "add_indicator", False):
                if getattr(step, "strategy", None) == "constant":
                    fill = step.fill_value
                continue
            found: dict[str, KnownInput] = {}
            _learned(step, columns, f"{where} > '{step_name}'", found)
            for name, known in found.items():
                if known.choices is not None and fill is not None:
                    choices = tuple(c for c in known.choices if c != fill)
                    known = KnownInput(known.name, known.source, choices, known.low, known.high)
                out.setdefault(name, known)
            return  # later steps see transformed columns, not the inputs
        return
    if kind == "ColumnTransformer":
        names_in = getattr(est, "feature_names_in_", None)
        names_in = [str(n) for n in names_in] if names_in is not None else columns
        for name, trans, selection in getattr(est, "transformers_", []):
            if trans is None or isinstance(trans, str):
                continue  # "drop", "passthrough"
            chosen = _columns_of(selection, names_in)
            if chosen:
                _learned(trans, chosen, f"{where} > '{name}'", out)
        return
    if kind in ("OneHotEncoder", "OrdinalEncoder"):
        categories = getattr(est, "categories_", None)
        if categories is None or len(categories) != len(columns):
            return
        for column, values in zip(columns, categories, strict=True):
            kept = tuple(native(v) for v in values if not _is_missing(v))
            if kept:
                out.setdefault(column, KnownInput(column, f"{kind}.categories_{where}", kept))
        return
    if kind == "MinMaxScaler":
        lows, highs = getattr(est, "data_min_", None), getattr(est, "data_max_", None)
        if lows is None or len(lows) != len(columns):
            return
        for column, low, high in zip(columns, lows, highs, strict=True):
            if np.isfinite(low) and np.isfinite(high):
                source = f"MinMaxScaler's training range{where}"
                out.setdefault(column, KnownInput(column, source, None, float(low), float(high)))


def input_names(estimator: Any) -> list[str] | None:
    """The model's own input names, in order, when it records them."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        names = getattr(estimator, "input_names", None)
    return [str(n) for n in names] if names is not None else None


def known_inputs(estimator: Any) -> dict[str, KnownInput]:
    """``{input name: what the model knows of it}``, for the inputs it knows something of."""
    own = getattr(estimator, "known_inputs", None)
    if callable(own):
        return {k.name: k for k in own()}
    names = input_names(estimator)
    if names is None:
        return {}
    out: dict[str, KnownInput] = {}
    _learned(estimator, names, "", out)
    return {name: known for name, known in out.items() if name in names}


def _where(source: str) -> str:
    """A source as the notes show it: "OneHotEncoder.categories_ in step 'prep' > 'cat'"."""
    head, _, path = source.partition(" > ")
    return f"{head} in step {path}" if path else head


def _notes(used: Mapping[str, list[str]], what: str) -> list[str]:
    return [f"{what} of {', '.join(names)} from {_where(src)}." for src, names in used.items()]


def interface_enrich(spec: Mapping[str, Any], estimator: Any) -> tuple[dict[str, Any], list[str]]:
    """``spec`` (an interface read from rows) with what the model knows added: every category
    it was trained on among an input's choices, and the range it saw within a number's
    observed range (the slider's span; never a limit). Returns the spec and its notes."""
    known = known_inputs(estimator)
    enriched = {**spec, "inputs": [dict(item) for item in spec.get("inputs", [])]}
    chose: dict[str, list[str]] = {}
    ranged: dict[str, list[str]] = {}
    for item in enriched["inputs"]:
        k = known.get(item.get("name"))
        if k is None:
            continue
        kind = item.get("type")
        if k.choices is not None and kind in ("category", "text"):
            if len(k.choices) > MAX_KNOWN_CHOICES:
                continue
            seen = [str(c) for c in item.get("choices") or []]
            union = sorted({*seen, *(str(c) for c in k.choices)})
            if kind == "category" and union == sorted(seen):
                continue
            item["type"], item["choices"] = "category", union
            if item.get("default") is not None and str(item["default"]) not in union:
                item["default"] = None
            chose.setdefault(k.source, []).append(item["name"])
        elif k.low is not None and kind in ("number", "integer"):
            low, high = item.get("observed_min"), item.get("observed_max")
            wider_low = k.low if low is None else min(low, k.low)
            wider_high = k.high if high is None else max(high, k.high)
            if kind == "integer":
                wider_low, wider_high = math.floor(wider_low), math.ceil(wider_high)
            if (wider_low, wider_high) == (low, high):
                continue
            item["observed_min"], item["observed_max"] = wider_low, wider_high
            ranged.setdefault(k.source, []).append(item["name"])
    return enriched, _notes(chose, "Choices") + _notes(ranged, "Slider range")


def _nice_step(span: float) -> float:
    """A round step giving about a hundred positions over ``span``."""
    if not span > 0 or not math.isfinite(span):  # a crafted range (1e308 wide) too
        return 1.0
    raw = span / 100
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def interface_from_model(
    estimator: Any, *, target: str | None = None
) -> tuple[Interface, list[str]]:
    """The interface of a model given without rows or a declared interface, from what it
    knows: its input names, each input's categories or the range it saw. Raises a one-line
    ``ValidationError`` naming what it does not know."""
    names = input_names(estimator)
    if names is None:
        raise ValidationError(
            {
                "reference_data": [
                    "Give reference data or an explicit interface: the model does not record "
                    "its input names."
                ]
            }
        )
    known = known_inputs(estimator)
    # A booster's ranges (LightGBM's training range, XGBoost's split thresholds) give a
    # form built from the model alone its sliders; beside reference rows they are not used.
    ranges = getattr(estimator, "known_ranges", None)
    for k in ranges() if callable(ranges) else ():
        known.setdefault(k.name, k)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValidationError(
            {
                "reference_data": [
                    "Give reference data or an explicit interface: the model knows neither "
                    f"categories nor a range for {', '.join(unknown)}."
                ]
            }
        )
    inputs, chose, ranged = [], {}, {}
    for name in names:
        k = known[name]
        spec: dict[str, Any] = {"name": name, "label": humanize(name), "required": True}
        if k.choices is not None:
            choices = sorted({str(c) for c in k.choices})
            spec.update(type="category", choices=choices, default=choices[0])
            chose.setdefault(k.source, []).append(name)
        else:
            step = _nice_step(k.high - k.low)
            middle = round((k.low + k.high) / 2 / step) * step
            spec.update(
                type="number",
                default=float(min(max(middle, k.low), k.high)),
                step=step,
                min=None,
                max=None,
                observed_min=k.low,
                observed_max=k.high,
            )
            ranged.setdefault(k.source, []).append(name)
        inputs.append(spec)
    output = infer_output(estimator, target=target)
    notes = [
        "Interface from the model itself (no reference data): inputs and their order from "
        "the model; defaults are the first category and the middle of each range.",
        *_notes(chose, "Choices"),
        *_notes(ranged, "Ranges"),
    ]
    return Interface({"inputs": inputs, "output": output}), notes
