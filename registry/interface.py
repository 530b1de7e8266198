"""The declared interface of a model version: its exact inputs and its output.

An interface is plain JSON (see docs/interface.md) stored on the version. :class:`Interface`
wraps that JSON with what the rest of the domain needs: inferring it from reference data,
validating raw rows (JSON records, form data, CSV strings) into a typed DataFrame in the
model's column order, describing one row as JSON Schema, and comparing two interfaces.

Validation is written for one row first: a what-if redraw validates a single record, so the
per-cell work is plain Python and the DataFrame is built once, column by column.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError

_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)
INPUT_TYPES = ("number", "integer", "boolean", "category", "text", "date")
TASKS = ("classification", "regression")
# Which way "what would it take" may move an input (age, say, only increases).
DIRECTIONS = ("any", "increase", "decrease")
# Only inputs with an order can have a direction.
_ORDERED_TYPES = ("number", "integer", "boolean")

# A text column with at most this many distinct values is inferred as a category.
MAX_INFERRED_CHOICES = 50
_TRUE = {"true", "1", "yes", "on", "t", "y"}
_FALSE = {"false", "0", "no", "off", "f", "n"}
_MISSING = object()
# The most of a person's value an error message repeats: enough to recognise it, never the
# whole of a 5 MB string (an answer would grow with what was sent).
SHOWN_CHARS = 80


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with "…" where it was cut."""
    return text if len(text) <= limit else text[:limit] + "…"


def echo(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A value as an error message repeats it: its repr, cut to ``limit`` characters.

    Every message that echoes what a person sent goes through here (or :func:`clip`).
    """
    if isinstance(value, str | bytes) and len(value) > limit:
        return repr(value[:limit]) + "…"
    return clip(repr(value), limit)


# Python types a column may hold to be checked as a whole array.
_FAST_TYPES = {
    "number": {float, int},
    "integer": {int},
    "boolean": {bool},
    "category": {str},
}


class InvalidInput(ValidationError):
    """Rows that do not fit the interface: errors keyed by row number, then by field."""

    def __init__(self, errors: Mapping[int, Mapping[str, list[str]]]):
        self.row_errors = {int(row): dict(fields) for row, fields in errors.items()}
        super().__init__(self.summary())

    def summary(self) -> str:
        messages = [
            f"Row {row}: {name}: {msg}"
            for row, fields in sorted(self.row_errors.items())
            for name, msgs in fields.items()
            for msg in msgs
        ]
        first = messages[0] if messages else "Invalid input."
        more = len(messages) - 1
        return first if more <= 0 else f"{first} (and {more} more error{'s' * (more > 1)})"

    def as_fields(self) -> dict[str, dict[str, list[str]]]:
        """The errors in the API's shape: ``{"0": {"field": ["message"]}}``."""
        return {str(row): fields for row, fields in sorted(self.row_errors.items())}


@dataclass
class Validated:
    """Rows that passed validation: the typed frame, the same rows as JSON-ready records
    (what gets stored), and the per-row warnings.

    When every input has one NumPy type, ``block`` holds the rows as one 2-D array, and the
    DataFrame is only built when someone reads ``frame`` (a model that takes the plain
    matrix never needs it).
    """

    build: Callable[[], pd.DataFrame] = field(repr=False)
    rows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    block: np.ndarray | None = None

    @cached_property
    def frame(self) -> pd.DataFrame:
        return self.build()


@dataclass
class FrameCheck:
    """A validated chunk: typed good rows, which rows were good, errors of the others."""

    frame: pd.DataFrame
    good: np.ndarray
    errors: dict[int, dict[str, list[str]]]
    warning_counts: dict[str, int]
    # Row index within the frame -> a note for each of its values outside the training range.
    row_warnings: dict[int, list[str]] = field(default_factory=dict)


# Abbreviations people write in capitals; a label reads "BMI", not "Bmi".
_ACRONYMS = {"bmi", "ldl", "hdl", "id", "ph", "bp", "hba1c", "gdp", "vat", "uk", "us", "eu"}


def humanize(name: str) -> str:
    words = name.replace("_", " ").replace("-", " ").split()
    words = [w.upper() if w.lower() in _ACRONYMS else w for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def native(value: Any) -> Any:
    """A NumPy or pandas scalar as the plain Python value JSON can hold."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready records: NaN as null, NumPy scalars as Python values."""
    if not frame.isna().to_numpy().any() and not any(
        pd.api.types.is_datetime64_any_dtype(t) for t in frame.dtypes
    ):
        return frame.to_dict(orient="records")  # pandas boxes to Python scalars itself
    cleaned = frame.astype(object).where(frame.notna(), None)
    return [{k: native(v) for k, v in row.items()} for row in cleaned.to_dict(orient="records")]


def _format_number(value: float) -> str:
    return f"{value:g}"


class InputField:
    """One declared input, with the parser its type needs."""

    def __init__(self, spec: Mapping[str, Any]):
        self.spec = dict(spec)
        self.name: str = spec["name"]
        self.type: str = spec["type"]
        self.required: bool = bool(spec.get("required", True))
        self.min = spec.get("min")
        self.max = spec.get("max")
        self.observed_min = spec.get("observed_min")
        self.observed_max = spec.get("observed_max")
        self.choices: list[str] = [str(c) for c in spec.get("choices") or []]
        self._choice_set = set(self.choices)
        # What a person can change (counterfactual search); never affects a prediction.
        self.actionable: bool = bool(spec.get("actionable", True))
        self.direction: str = spec.get("direction") or "any"
        # Whose groups the fairness figures compare (registry.fairness); never affects a prediction.
        self.sensitive: bool = bool(spec.get("sensitive", False))
        self.parse = getattr(self, f"_parse_{self.type}")

    # Each parser returns the typed value or raises ValueError with a user-facing message.
    def _parse_number(self, value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError("Enter a number.")
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise ValueError("Enter a number.") from None
        elif isinstance(value, int | float | np.integer | np.floating):
            try:
                value = float(value)
            except OverflowError:  # an integer too large for a float (10**400)
                raise ValueError("Enter a finite number (this one is too large).") from None
        else:
            raise ValueError("Enter a number.")
        if not math.isfinite(value):
            raise ValueError("Enter a finite number (NaN and infinity are not allowed).")
        self._check_limits(value)
        return value

    def _parse_integer(self, value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("Enter a whole number.")
        if isinstance(value, int | np.integer):
            value = int(value)
        else:
            try:
                number = float(value.strip()) if isinstance(value, str) else float(value)
            except (TypeError, ValueError):
                raise ValueError("Enter a whole number.") from None
            if not math.isfinite(number) or not number.is_integer():
                raise ValueError("Enter a whole number.")
            value = int(number)
        # Whole numbers travel as int64: a larger one (1e300, 9.3e18) cannot reach the model.
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"Enter a whole number between {_INT64_MIN:,} and {_INT64_MAX:,}.")
        self._check_limits(value)
        return value

    def _parse_boolean(self, value: Any) -> bool:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
        raise ValueError("Enter true or false.")

    def _parse_category(self, value: Any) -> str:
        if isinstance(value, bool | int | float | str):
            text = value if isinstance(value, str) else str(value)
            if text in self._choice_set:
                return text
            if isinstance(value, str) and value.strip() in self._choice_set:
                return value.strip()
        choices = ", ".join(self.choices)
        raise ValueError(f"Select a valid choice. {echo(value)} is not one of: {choices}.")

    def _parse_text(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("Enter text.")
        return value

    def _parse_date(self, value: Any) -> dt.date:
        if isinstance(value, dt.date):
            return value if not isinstance(value, dt.datetime) else value.date()
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise ValueError("Enter a date as YYYY-MM-DD.")

    def _check_limits(self, value: float) -> None:
        if self.min is not None and value < self.min:
            raise ValueError(f"Ensure this value is at least {_format_number(self.min)}.")
        if self.max is not None and value > self.max:
            raise ValueError(f"Ensure this value is at most {_format_number(self.max)}.")

    def parse_column(
        self, values: list[Any]
    ) -> tuple[np.ndarray | list[Any], dict[int, str], list[tuple[int, str]]]:
        """Parse one input's values across rows: (values, errors by row, warnings).

        Clean columns (only numbers for a number, only known strings for a category) are
        checked as whole NumPy arrays; anything else goes cell by cell for exact messages.
        """
        fast = _FAST_TYPES.get(self.type)
        # A handful of cells is quicker one by one than through NumPy.
        if fast is not None and len(values) >= 16 and set(map(type, values)) <= fast:
            checked = self._parse_clean_column(values)
            if checked is not None:
                return checked
        parsed: list[Any] = []
        errors: dict[int, str] = {}
        warnings: list[tuple[int, str]] = []
        for index, raw in enumerate(values):
            if _is_missing(raw):
                if self.required:
                    errors[index] = "This field is required."
                parsed.append(None)
                continue
            try:
                value = self.parse(raw)
            except ValueError as exc:
                errors[index] = str(exc)
                parsed.append(None)
                continue
            parsed.append(value)
            message = self.warning(value)
            if message:
                warnings.append((index, message))
        return parsed, errors, warnings

    def _parse_clean_column(self, values: list[Any]):
        """The array for a column of clean values, or None when a cell needs a message."""
        if self.type == "category":
            return (
                (np.array(values, dtype=object), {}, [])
                if self._choice_set.issuperset(values)
                else None
            )
        if self.type == "boolean":
            return np.array(values, dtype=bool), {}, []
        try:
            array = np.array(values, dtype="int64" if self.type == "integer" else "float64")
        except OverflowError:
            return None
        if self.type == "number" and not np.isfinite(array).all():
            return None
        if (self.min is not None and (array < self.min).any()) or (
            self.max is not None and (array > self.max).any()
        ):
            return None
        warnings = []
        low, high = self.observed_min, self.observed_max
        if low is not None and high is not None:
            outside = np.flatnonzero((array < low) | (array > high))
            warnings = [(int(i), self.warning(values[i])) for i in outside]
        return array, {}, warnings

    def warning(self, value: Any) -> str | None:
        """A message when a number lies outside the training range (an extrapolation)."""
        if self.type not in ("number", "integer") or value is None:
            return None
        low, high = self.observed_min, self.observed_max
        if (low is not None and value < low) or (high is not None and value > high):
            return (
                f"{_format_number(value)} is outside the training range "
                f"{_format_number(low)}–{_format_number(high)}; the answer is an extrapolation."
            )
        return None

    def range_note(self, value: Any) -> str:
        """A warned value as a batch result's ``warnings`` cell names it."""
        label = self.spec.get("label") or self.name
        return (
            f"{label} {_format_number(value)} is outside the training range "
            f"{_format_number(self.observed_min)}–{_format_number(self.observed_max)}"
        )

    @property
    def dtype(self) -> str:
        return {
            "number": "float64",
            "integer": "int64",
            "boolean": "bool",
            "date": "datetime64[ns]",
        }.get(self.type, "object")


def _is_missing(value: Any) -> bool:
    if value is None or value is _MISSING:
        return True
    return bool(isinstance(value, str) and value.strip() == "")


class Interface:
    """A version's declared inputs and output, ready to validate rows."""

    def __init__(self, spec: Mapping[str, Any]):
        self.spec = _check_spec(spec)
        self.fields = [InputField(item) for item in self.spec["inputs"]]
        self.by_name = {f.name: f for f in self.fields}
        self.names = [f.name for f in self.fields]
        self._name_set = frozenset(self.names)
        self.output: dict[str, Any] = self.spec["output"]
        # Reference columns kept beside the inputs, which the model does not take.
        self.kept: list[dict[str, Any]] = self.spec.get("kept", [])
        # When every input has one NumPy type, rows become one 2-D block (see _block).
        kinds = {f.dtype for f in self.fields}
        self._block_dtype = kinds.pop() if kinds in ({"float64"}, {"int64"}) else None

    @property
    def task(self) -> str:
        return self.output["task"]

    def takes_one_block(self, dtype: str) -> bool:
        """Whether every input has this NumPy dtype (its rows make one 2-D block)."""
        return self._block_dtype == dtype

    @property
    def classes(self) -> list[Any]:
        return list(self.output.get("classes") or [])

    @property
    def sensitive(self) -> list[str]:
        """The inputs, then the kept columns, marked sensitive, in order."""
        return [f.name for f in self.fields if f.sensitive] + [
            k["name"] for k in self.kept if k["sensitive"]
        ]

    def label_of(self, name: str) -> str:
        """An input's or a kept column's label."""
        if name in self.by_name:
            return self.by_name[name].spec.get("label") or name
        return next((k["label"] for k in self.kept if k["name"] == name), name)

    def to_dict(self) -> dict[str, Any]:
        """The interface as JSON, a copy the caller may change."""
        return copy.deepcopy(self.spec)

    # ---------------------------------------------------------------- validation
    def validate(self, rows: Sequence[Mapping[str, Any]]) -> Validated:
        """Validate raw rows into a typed DataFrame in the model's column order.

        Raises :class:`InvalidInput` naming every bad row and field; nothing is guessed or
        defaulted silently. Values outside the observed training range pass with a warning.
        """
        if isinstance(rows, Mapping) or not isinstance(rows, Sequence) or isinstance(rows, str):
            raise InvalidInput({0: {"inputs": ["Send a list of rows, each an object."]}})
        if not rows:
            raise InvalidInput({0: {"inputs": ["Send at least one row."]}})
        if len(rows) == 1:
            one = self._validate_one(rows[0])
            if one is not None:
                return one
        errors: dict[int, dict[str, list[str]]] = {}
        not_objects = set()
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                errors[index] = {"inputs": ["Each row must be an object of field: value."]}
                not_objects.add(index)
            elif len(row) > len(self.names) or not self._name_set.issuperset(row):
                unknown = [clip(str(key)) for key in row if key not in self._name_set]
                errors[index] = {key: ["Unknown field."] for key in unknown}
        records = [{} if i in not_objects else row for i, row in enumerate(rows)]
        columns: dict[str, Any] = {}
        warnings: list[dict[str, Any]] = []
        for f in self.fields:
            values, field_errors, field_warnings = f.parse_column(
                [row.get(f.name, _MISSING) for row in records]
            )
            columns[f.name] = values
            for index, message in field_errors.items():
                if index not in not_objects:
                    errors.setdefault(index, {})[f.name] = [message]
            warnings.extend(
                {"row": index, "field": f.name, "message": message}
                for index, message in field_warnings
            )
        if errors:
            raise InvalidInput(errors)
        warnings.sort(key=lambda w: w["row"])
        return self._validated(columns, warnings)

    def _validate_one(self, row: Any) -> Validated | None:
        """One clean row, cell by cell as :meth:`validate` checks it; None if anything in it
        needs a message (the general path then names every problem)."""
        if not isinstance(row, Mapping) or len(row) != len(self.names):
            return None
        columns: dict[str, Any] = {}
        warnings: list[dict[str, Any]] = []
        try:
            for f in self.fields:
                raw = row[f.name]
                if _is_missing(raw):
                    return None
                value = f.parse(raw)
                columns[f.name] = [value]
                message = f.warning(value)
                if message:
                    warnings.append({"row": 0, "field": f.name, "message": message})
        except (KeyError, ValueError):
            return None
        return self._validated(columns, warnings)

    def _records(self, columns: dict[str, Any]) -> list[dict[str, Any]]:
        """Parsed columns as JSON-ready rows, without a round trip through pandas."""
        lists = []
        for f in self.fields:
            values = columns[f.name]
            values = values.tolist() if isinstance(values, np.ndarray) else values
            if f.type == "date":
                values = [None if v is None else v.isoformat() for v in values]
            lists.append(values)
        return [dict(zip(self.names, row, strict=True)) for row in zip(*lists, strict=True)]

    def validate_frame(self, frame: pd.DataFrame) -> FrameCheck:
        """Validate a parsed CSV chunk column by column, keeping the good rows.

        Unlike :meth:`validate`, bad rows do not refuse the whole frame: they are reported (row
        index within the frame, field, message) and left out of ``frame``, so one bad line
        never sinks a batch. Empty cells are missing values. Columns the interface does not
        declare are ignored here (the caller keeps them in its output).
        """
        errors: dict[int, dict[str, list[str]]] = {}
        warnings: dict[str, int] = {}
        row_warnings: dict[int, list[str]] = {}
        columns: dict[str, Any] = {}
        n = len(frame)
        for f in self.fields:
            if f.name not in frame.columns:
                errors.update({i: {f.name: ["This column is missing."]} for i in range(n)})
                columns[f.name] = [None] * n
                continue
            column = frame[f.name]
            if column.isna().any():
                values = column.astype(object).where(column.notna(), None).tolist()
            else:
                values = column.tolist()
            if f.type in ("category", "text"):
                values = [v if v is None or isinstance(v, str) else str(v) for v in values]
            parsed, field_errors, field_warnings = f.parse_column(values)
            columns[f.name] = parsed
            for index, message in field_errors.items():
                errors.setdefault(index, {})[f.name] = [message]
            if field_warnings:
                warnings[f.name] = len(field_warnings)
                for index, _ in field_warnings:
                    row_warnings.setdefault(index, []).append(f.range_note(parsed[index]))
        good = np.ones(n, dtype=bool)
        if errors:
            good[list(errors)] = False
            columns = {
                name: np.asarray(values, dtype=object)[good].tolist()
                if not isinstance(values, np.ndarray)
                else values[good]
                for name, values in columns.items()
            }
        typed = self._frame(columns) if good.any() else pd.DataFrame(columns=self.names)
        return FrameCheck(
            frame=typed,
            good=good,
            errors=errors,
            warning_counts=warnings,
            row_warnings={i: w for i, w in row_warnings.items() if good[i]},
        )

    def _validated(self, columns: dict[str, Any], warnings: list[dict[str, Any]]) -> Validated:
        block = self._block(columns)
        if block is not None:
            build = lambda: pd.DataFrame(block, columns=self.names, copy=False)  # noqa: E731
        else:
            build = lambda: self._frame(columns)  # noqa: E731
        return Validated(build=build, rows=self._records(columns), warnings=warnings, block=block)

    def _block(self, columns: dict[str, Any]) -> np.ndarray | None:
        """The rows as one 2-D array when every input has one dtype and no value is missing.

        A DataFrame built from it costs a tenth of one assembled column by column, with the
        same dtypes and values.
        """
        if self._block_dtype is None:
            return None
        lists = [columns[name] for name in self.names]
        if any(not isinstance(v, np.ndarray) and None in v for v in lists):
            return None
        return np.array(lists, dtype=self._block_dtype).T

    def _frame(self, columns: dict[str, Any]) -> pd.DataFrame:
        block = self._block(columns)
        if block is not None:
            return pd.DataFrame(block, columns=self.names, copy=False)
        data = {}
        for f in self.fields:
            values = columns[f.name]
            if isinstance(values, np.ndarray):
                data[f.name] = values
            elif f.type in ("number", "integer") and None in values:
                # Optional numbers travel as NaN, for models that impute them.
                data[f.name] = np.array([np.nan if v is None else v for v in values], "float64")
            elif f.type in ("category", "text", "boolean") and None in values:
                data[f.name] = np.array(values, dtype=object)
            elif f.type == "date":
                data[f.name] = pd.to_datetime(values)
            else:
                data[f.name] = np.array(values, dtype=f.dtype)
        return pd.DataFrame(data, columns=self.names)

    def defaults(self) -> dict[str, Any]:
        """One row of default values, as a form starts."""
        return {f.name: f.spec.get("default") for f in self.fields}

    # ---------------------------------------------------------------- description
    def json_schema(self) -> dict[str, Any]:
        """JSON Schema (2020-12) for one input row."""
        properties: dict[str, Any] = {}
        for f in self.fields:
            prop: dict[str, Any] = {}
            if f.type in ("number", "integer"):
                prop["type"] = f.type
                if f.min is not None:
                    prop["minimum"] = f.min
                if f.max is not None:
                    prop["maximum"] = f.max
            elif f.type == "boolean":
                prop["type"] = "boolean"
            elif f.type == "category":
                prop["type"] = "string"
                prop["enum"] = f.choices
            elif f.type == "date":
                prop["type"] = "string"
                prop["format"] = "date"
            else:
                prop["type"] = "string"
            if not f.required:
                prop["type"] = [prop["type"], "null"]
            for key in ("label", "description", "unit", "default"):
                if f.spec.get(key) not in (None, ""):
                    prop["title" if key == "label" else key] = f.spec[key]
            properties[f.name] = prop
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": properties,
            "required": [f.name for f in self.fields if f.required],
            "additionalProperties": False,
        }


# -------------------------------------------------------------------- the spec itself
def _check_spec(spec: Any) -> dict[str, Any]:
    """Check an interface's JSON (inferred or sent by a user) and return it normalised."""
    if not isinstance(spec, Mapping):
        raise ValidationError({"interface": ["The interface must be a JSON object."]})
    problems: list[str] = []
    inputs = spec.get("inputs")
    output = spec.get("output")
    if not isinstance(inputs, list) or not inputs:
        problems.append("'inputs' must be a non-empty list.")
        inputs = []
    if not isinstance(output, Mapping):
        problems.append("'output' must be an object.")
        output = {}
    seen: set[str] = set()
    normalised_inputs = []
    for position, item in enumerate(inputs):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            problems.append(f"Input {position} needs a 'name'.")
            continue
        name, kind = item["name"], item.get("type")
        if name in seen:
            problems.append(f"Input '{name}' is declared twice.")
        seen.add(name)
        if kind not in INPUT_TYPES:
            problems.append(
                f"Input '{name}' has type {kind!r}; use one of {', '.join(INPUT_TYPES)}."
            )
            continue
        if kind == "category" and not item.get("choices"):
            problems.append(f"Input '{name}' is a category and needs 'choices'.")
        problems.extend(_actionability_problems(name, kind, item))
        entry = {"name": name, "type": kind, "label": humanize(name), "required": True, **item}
        normalised_inputs.append(entry)
    if output.get("task") not in TASKS:
        problems.append(f"'output.task' must be one of {', '.join(TASKS)}.")
    elif output["task"] == "classification" and not output.get("classes"):
        problems.append("A classification output needs 'classes'.")
    kept = _kept_columns(spec.get("kept", []), seen, problems)
    if problems:
        raise ValidationError({"interface": problems})
    checked = {"inputs": normalised_inputs, "output": dict(output)}
    if kept:
        checked["kept"] = kept
    return checked


def _kept_columns(kept: Any, inputs: set[str], problems: list[str]) -> list[dict[str, Any]]:
    """The interface's ``kept`` list checked: reference columns the model does not take, kept
    in the reference sample so fairness figures can group by them (an age band, say)."""
    if not isinstance(kept, list):
        problems.append("'kept' must be a list of columns.")
        return []
    checked = []
    for item in kept:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            problems.append("Each kept column needs a 'name'.")
            continue
        name = item["name"]
        if name in inputs:
            problems.append(f"Kept column '{name}' is an input already.")
            continue
        if not isinstance(item.get("sensitive", False), bool):
            problems.append(f"Kept column '{name}': 'sensitive' must be true or false.")
            continue
        checked.append({"label": humanize(name), "sensitive": False, **item})
    return checked


def _actionability_problems(name: str, kind: str, item: Mapping[str, Any]) -> list[str]:
    """What is wrong with an input's optional ``actionable`` and ``direction``."""
    problems = []
    if "actionable" in item and not isinstance(item["actionable"], bool):
        problems.append(f"Input '{name}': 'actionable' must be true or false.")
    if "sensitive" in item and not isinstance(item["sensitive"], bool):
        problems.append(f"Input '{name}': 'sensitive' must be true or false.")
    direction = item.get("direction", "any")
    if direction not in DIRECTIONS:
        problems.append(
            f"Input '{name}': 'direction' must be one of {', '.join(DIRECTIONS)}, "
            f"not {direction!r}."
        )
    elif direction != "any" and kind not in _ORDERED_TYPES:
        problems.append(f"Input '{name}' is a {kind}: only numbers and booleans have a direction.")
    return problems


def interface_actionability_set(
    spec: Mapping[str, Any], changes: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """A copy of an interface's JSON with new ``actionable``/``direction`` for some inputs.

    ``changes`` maps an input name to ``{"actionable": bool, "direction": str}`` (either key
    may be left out). Raises ``ValidationError`` naming the input for an unknown input, an
    unknown key or a bad value. Nothing else of the interface can change this way.
    """
    updated = copy.deepcopy(dict(spec))
    by_name = {item["name"]: item for item in updated["inputs"]}
    problems = []
    for name, fields in changes.items():
        if name not in by_name:
            problems.append(f"Unknown input {echo(name)}.")
            continue
        extra = set(fields) - {"actionable", "direction"}
        if extra:
            problems.append(f"Input '{name}': only actionable and direction can change here.")
            continue
        by_name[name].update(fields)
    if problems:
        raise ValidationError({"interface": problems})
    return Interface(updated).to_dict()


def interface_sensitive_set(spec: Mapping[str, Any], name: str, sensitive: bool) -> dict[str, Any]:
    """A copy of an interface's JSON with input (or kept column) ``name`` marked sensitive or
    not. Raises ``ValidationError`` for a name that is neither."""
    updated = copy.deepcopy(dict(spec))
    for item in [*updated["inputs"], *updated.get("kept", [])]:
        if item["name"] == name:
            item["sensitive"] = bool(sensitive)
            return Interface(updated).to_dict()
    raise ValidationError(
        {"input": [f"Unknown input {echo(name)}: neither an input nor a kept reference column."]}
    )


# -------------------------------------------------------------------- inference
@dataclass(frozen=True)
class KnownInput:
    """What a fitted model itself knows about one of its inputs, with no data needed: the
    categories it was trained on, the range it saw, and where that came from (for the
    version's notes). A scikit-learn estimator is read for them (fitted encoders, scalers:
    registry/known.py); a model with a ``known_inputs()`` method (a LightGBM booster) gives
    them itself."""

    name: str
    source: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None


def _step(values: np.ndarray) -> float:
    """The data's precision: 1, 0.1, 0.01, … the coarsest step every value sits on."""
    for decimals in range(0, 7):
        scaled = values * 10**decimals
        if np.allclose(scaled, np.round(scaled), rtol=0, atol=1e-6):
            return 10.0**-decimals if decimals else 1.0
    return 1e-6


def infer_input(name: str, column: pd.Series) -> dict[str, Any]:
    present = column.dropna()
    spec: dict[str, Any] = {
        "name": name,
        "label": humanize(name),
        "required": bool(len(present) == len(column)),
    }
    if pd.api.types.is_bool_dtype(column):
        mode = present.mode()
        return {**spec, "type": "boolean", "default": bool(mode.iloc[0]) if len(mode) else False}
    if pd.api.types.is_integer_dtype(column):
        low, high = int(present.min()), int(present.max())
        return {
            **spec,
            "type": "integer",
            "default": round(float(present.median())),
            "step": 1,
            "min": None,
            "max": None,
            "observed_min": low,
            "observed_max": high,
        }
    if pd.api.types.is_numeric_dtype(column):
        values = present.to_numpy(dtype="float64")
        step = _step(values)
        decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
        default = round(float(np.median(values)), decimals)
        return {
            **spec,
            "type": "number",
            "default": default,
            "step": step,
            "min": None,
            "max": None,
            "observed_min": float(values.min()),
            "observed_max": float(values.max()),
        }
    if pd.api.types.is_datetime64_any_dtype(column):
        return {
            **spec,
            "type": "date",
            "default": native(present.median()),
            "observed_min": native(present.min()),
            "observed_max": native(present.max()),
        }
    text = present.astype(str)
    distinct = sorted(text.unique())
    mode = text.mode()
    if len(distinct) <= MAX_INFERRED_CHOICES:
        return {
            **spec,
            "type": "category",
            "choices": distinct,
            "default": str(mode.iloc[0]) if len(mode) else None,
        }
    return {**spec, "type": "text", "default": None}


def infer_output(estimator: Any, *, target: str | None) -> dict[str, Any]:
    """The output block for an estimator: classes for a classifier, the target otherwise."""
    classes = getattr(estimator, "classes_", None)
    if classes is not None and hasattr(estimator, "predict_proba"):
        return {
            "task": "classification",
            "target": target or "prediction",
            "classes": [native(c) for c in classes],
        }
    return {"task": "regression", "target": target or "prediction", "unit": None}


def interface_infer(
    *, estimator: Any, reference: pd.DataFrame, target: str | None = None
) -> Interface:
    """Infer an interface from reference data and the estimator it belongs to.

    Input order follows the estimator's ``feature_names_in_`` when it has them (so the frame
    matches what it was trained on), otherwise the reference data's column order minus the
    target. Types, categories, observed ranges, defaults (median or most frequent) and steps
    (the data's precision) come from the reference data.
    """
    feature_names = getattr(estimator, "feature_names_in_", None)
    if feature_names is not None:
        names = [str(n) for n in feature_names]
        missing = [n for n in names if n not in reference.columns]
        if missing:
            raise ValidationError(
                {"reference_data": [f"The model expects columns that are missing: {missing}."]}
            )
    else:
        names = [str(c) for c in reference.columns if c != target]
    if target and target not in reference.columns:
        raise ValidationError({"target": [f"The reference data has no column '{target}'."]})
    inputs = [infer_input(name, reference[name]) for name in names]
    output = infer_output(estimator, target=target)
    return Interface({"inputs": inputs, "output": output})


# -------------------------------------------------------------------- compatibility
@dataclass
class Changes:
    """Differences between two interfaces; ``breaking`` ones refuse old inputs."""

    breaking: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def compatible(self) -> bool:
        return not self.breaking


def interface_compare(old: Interface, new: Interface) -> Changes:
    """What a caller of ``old`` would notice with ``new``.

    Removing an input, adding a required one, changing a type, dropping categories or changing
    the output are breaking; anything that old inputs still satisfy is a note.
    """
    changes = Changes()
    for name in old.names:
        if name not in new.by_name:
            changes.breaking.append(f"Input '{name}' was removed.")
    for f in new.fields:
        before = old.by_name.get(f.name)
        if before is None:
            (changes.breaking if f.required else changes.notes).append(
                f"Input '{f.name}' was added{' (required)' if f.required else ' (optional)'}."
            )
            continue
        if before.type != f.type:
            changes.breaking.append(
                f"Input '{f.name}' changed type from {before.type} to {f.type}."
            )
            continue
        if f.required and not before.required:
            changes.breaking.append(f"Input '{f.name}' became required.")
        removed = [c for c in before.choices if c not in f._choice_set]
        added = [c for c in f.choices if c not in before._choice_set]
        if removed:
            changes.breaking.append(f"Input '{f.name}' no longer accepts {', '.join(removed)}.")
        if added:
            changes.notes.append(f"Input '{f.name}' now also accepts {', '.join(added)}.")
        if (before.min, before.max) != (f.min, f.max):
            narrower = (f.min is not None and (before.min is None or f.min > before.min)) or (
                f.max is not None and (before.max is None or f.max < before.max)
            )
            (changes.breaking if narrower else changes.notes).append(
                f"Input '{f.name}' limits changed from {before.min}..{before.max} "
                f"to {f.min}..{f.max}."
            )
        if (before.observed_min, before.observed_max) != (f.observed_min, f.observed_max):
            changes.notes.append(
                f"Input '{f.name}' training range changed from "
                f"{before.observed_min}–{before.observed_max} to {f.observed_min}–{f.observed_max}."
            )
    old_out, new_out = old.output, new.output
    if old_out.get("task") != new_out.get("task"):
        changes.breaking.append(f"Output task changed from {old_out['task']} to {new_out['task']}.")
    elif old_out.get("target") != new_out.get("target"):
        changes.breaking.append(
            f"Output target changed from {old_out.get('target')} to {new_out.get('target')}."
        )
    elif old_out.get("classes") != new_out.get("classes"):
        changes.breaking.append(
            f"Output classes changed from {old_out.get('classes')} to {new_out.get('classes')}."
        )
    return changes


def sweep_values(f: InputField, points: int) -> list[Any]:
    """The values a sensitivity sweep tries for one input."""
    if f.type == "category":
        return list(f.choices)
    if f.type == "boolean":
        return [False, True]
    if f.type in ("number", "integer"):
        low = f.observed_min if f.observed_min is not None else f.min
        high = f.observed_max if f.observed_max is not None else f.max
        if low is None or high is None:
            return []
        if f.min is not None:
            low = max(low, f.min)
        if f.max is not None:
            high = min(high, f.max)
        grid = np.linspace(low, high, max(2, points))
        if f.type == "integer":
            return sorted({round(v) for v in grid})
        return [float(v) for v in grid]
    return []
