"""Comparing versions: the same inputs through several models, on the same reference rows,
and what changed between two versions of one model.

A comparison starts with a :class:`ComparisonPlan`: which versions, whether they can be
compared at all (one task, at least one input every version takes, one type per input name),
the union of their inputs as one interface (the form a page shows), and which version uses
which input. Each version then sees only its own inputs of a row, validates them itself and
answers; sweeps run every version over the same (merged) values so their curves overlay.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction

from registry.catalog.evaluation import classification_evaluation, regression_evaluation
from registry.inference import ModelCannotAnswer, Scores, score, sweep
from registry.interface import (
    Changes,
    InputField,
    Interface,
    InvalidInput,
    interface_compare,
    native,
    sweep_values,
)
from registry.models import ModelVersion
from registry.predict.services import Answer, prediction_run
from registry.runtime import version_estimator, version_interface, version_key

MIN_MODELS, MAX_MODELS = 2, 6
# Rows listed where two models disagree (all of them are counted).
DISAGREEMENT_ROWS = 25


def version_label(version: ModelVersion) -> str:
    """How a comparison names a version: ``name@number``."""
    return f"{version.model.name}@{version.number}"


def _names(items: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# ------------------------------------------------------------------ the plan
@dataclass(frozen=True)
class Member:
    """One version in a comparison, under the label the comparison shows."""

    version: ModelVersion
    label: str
    interface: Interface


@dataclass
class ComparisonPlan:
    """Versions that can be compared, and the one form that drives them all."""

    members: list[Member]
    interface: Interface
    """The union of the members' inputs: union of categories, widest observed range."""
    used_by: dict[str, list[str]]
    """Each input of the union, and the labels of the members that take it."""
    task: str
    notes: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return [m.label for m in self.members]

    @property
    def versions(self) -> list[ModelVersion]:
        return [m.version for m in self.members]

    @property
    def shared(self) -> list[str]:
        """Inputs every member takes."""
        return [n for n, users in self.used_by.items() if len(users) == len(self.members)]

    def sweep_values(self, points: int) -> dict[str, list[Any]]:
        """The x values every member sweeps for each number, integer and boolean input.

        Categories are left out: each member sweeps its own choices (a model may not know a
        category another one added), and category panels line bars up by name anyway.
        """
        return {
            f.name: sweep_values(f, points)
            for f in self.interface.fields
            if f.type in ("number", "integer", "boolean")
        }


_TYPE_NAMES = {"integer": "an integer", "boolean": "a boolean"}


def _type(interface: Interface, name: str) -> str | None:
    f = interface.by_name.get(name)
    return f.type if f is not None else None


def _choices(interface: Interface, name: str) -> list[str]:
    f = interface.by_name.get(name)
    return f.choices if f is not None else []


def _merge_inputs(specs: list[dict[str, Any]]) -> dict[str, Any]:
    """One input spec from the same input of several versions (their types agree)."""
    merged = dict(specs[0])
    kind = merged["type"]
    merged["required"] = any(s.get("required", True) for s in specs)
    if kind == "category":
        merged["choices"] = list(
            dict.fromkeys(str(c) for s in specs for c in s.get("choices") or [])
        )
    if kind in ("number", "integer", "date"):
        for key, pick in (("observed_min", min), ("observed_max", max)):
            known = [s.get(key) for s in specs if s.get(key) is not None]
            merged[key] = pick(known) if known else None
        # Hard limits: the loosest, since each version still applies its own.
        for key, pick in (("min", min), ("max", max)):
            limits = [s.get(key) for s in specs]
            merged[key] = None if any(v is None for v in limits) else pick(limits)
        steps = [s.get("step") for s in specs if s.get("step")]
        if steps:
            merged["step"] = min(steps)
    return merged


def comparison_plan(
    *,
    versions: Sequence[ModelVersion],
    labels: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    repeats: bool = False,
) -> ComparisonPlan:
    """Check that ``versions`` can be compared and plan the comparison.

    Refuses (``ValidationError`` on ``models``, each reason naming the models or inputs) fewer
    than 2 or more than 6 versions, a version named twice (unless ``repeats``: the API answers
    each name a caller sends, and two aliases may point at one version), versions of
    different tasks, versions that share no input, and an input whose type differs between
    versions. ``labels`` name the versions in the comparison (``name@number`` by default);
    ``names`` are how the caller named them (``name@champion``, say), for the messages.
    """
    versions = list(versions)
    labels = list(labels) if labels is not None else [version_label(v) for v in versions]
    if len(versions) < MIN_MODELS:
        raise ValidationError(
            {"models": [f"Choose at least {MIN_MODELS} models to compare (got {len(versions)})."]}
        )
    if len(versions) > MAX_MODELS:
        raise ValidationError(
            {"models": [f"Compare at most {MAX_MODELS} models at once (got {len(versions)})."]}
        )
    if not repeats:
        seen: dict[int, str] = {}
        for version, label in zip(versions, names or labels, strict=True):
            if version.pk in seen:
                same = (
                    f"{seen[version.pk]} and {label} are the same version"
                    if seen[version.pk] != label
                    else f"{label} is named twice"
                )
                raise ValidationError(
                    {"models": [f"{same} ({version_label(version)}): name each version once."]}
                )
            seen[version.pk] = label
    members = [
        Member(version=v, label=label, interface=version_interface(v))
        for v, label in zip(versions, labels, strict=True)
    ]
    problems: list[str] = []
    tasks = {m.interface.task for m in members}
    if len(tasks) > 1:
        problems.append(
            "Compare models of one task: "
            + "; ".join(f"{m.label} is {m.interface.task}" for m in members)
            + "."
        )
    used_by: dict[str, list[str]] = {}
    specs: dict[str, list[dict[str, Any]]] = {}
    for m in members:
        for f in m.interface.fields:
            used_by.setdefault(f.name, []).append(m.label)
            specs.setdefault(f.name, []).append(f.spec)
    if not any(len(users) == len(members) for users in used_by.values()):
        problems.append(
            "These models share no input, so one form cannot drive them: "
            + "; ".join(f"{m.label} takes {_names(m.interface.names)}" for m in members)
            + "."
        )
    for name, items in specs.items():
        kinds = list(dict.fromkeys(s["type"] for s in items))
        if len(kinds) > 1:
            by_kind = [
                f"{_TYPE_NAMES.get(kind, 'a ' + kind)} in "
                + ", ".join(m.label for m in members if _type(m.interface, name) == kind)
                for kind in kinds
            ]
            problems.append(f"Input '{name}' is " + " but ".join(by_kind) + ".")
    if problems:
        raise ValidationError({"models": problems})

    merged_inputs = [_merge_inputs(items) for items in specs.values()]
    output = dict(members[0].interface.output)
    if output["task"] == "classification":
        output["classes"] = list(
            dict.fromkeys(c for m in members for c in m.interface.output.get("classes") or [])
        )
    notes = []
    for name, users in used_by.items():
        fields = [m.interface.by_name[name] for m in members if name in m.interface.by_name]
        if fields[0].type != "category" or len(fields) < 2:
            continue
        merged = next(i for i in merged_inputs if i["name"] == name)
        partial = []
        for choice in merged["choices"]:
            knowing = [m.label for m in members if choice in _choices(m.interface, name)]
            if len(knowing) < len(users):
                partial.append(f"{choice} (only {', '.join(knowing)})")
        if partial:
            notes.append(f"Not every model knows each choice of '{name}': {', '.join(partial)}.")
    return ComparisonPlan(
        members=members,
        interface=Interface({"inputs": merged_inputs, "output": output}),
        used_by=used_by,
        task=output["task"],
        notes=notes,
    )


# ------------------------------------------------------------------ one set of inputs
def _rows_for(member: Member, rows: Any) -> Any:
    """The member's own inputs of each row; anything that is not a row goes on as it is, for
    the member's interface to refuse with its usual message."""
    if not isinstance(rows, Sequence) or isinstance(rows, str | bytes):
        return rows
    names = member.interface.by_name
    return [
        {k: v for k, v in row.items() if k in names} if isinstance(row, Mapping) else row
        for row in rows
    ]


def _say(plan: ComparisonPlan, name: str, by_message: dict[str, list[str]]) -> list[str]:
    """Messages about one field of one row: plain when every model that takes the field says
    the same, else each prefixed with the models that said it."""
    users = plan.used_by.get(name) or plan.labels
    if len(by_message) == 1:
        (message, labels), *_ = by_message.items()
        if not labels or set(labels) >= set(users):
            return [message]
    return [
        f"{', '.join(dict.fromkeys(labels))}: {message}" if labels else message
        for message, labels in by_message.items()
    ]


@transaction.atomic
def comparison_predict(
    *,
    plan: ComparisonPlan,
    rows: Sequence[Mapping[str, Any]],
    user: User | AnonymousUser | None,
    source: str,
    store: bool = True,
) -> list[Answer]:
    """The same rows through every version of the plan, one answer per member.

    A row may hold any input of the union; each version is given only the inputs it takes and
    validates them itself. A field no version takes is refused as unknown. All or nothing:
    the errors of every version come back together (a message names the versions when they
    disagree about a field), and with ``store`` nothing is kept unless every version answered.
    """
    errors: dict[int, dict[str, dict[str, list[str]]]] = {}
    if isinstance(rows, Sequence) and not isinstance(rows, str | bytes):
        for index, row in enumerate(rows):
            if isinstance(row, Mapping):
                for key in row:
                    if key not in plan.interface.by_name:
                        errors.setdefault(index, {}).setdefault(str(key), {})["Unknown field."] = []
    answers = []
    for member in plan.members:
        try:
            answers.append(
                prediction_run(
                    version=member.version,
                    rows=_rows_for(member, rows),
                    user=user,
                    source=source,
                    store=store,
                )
            )
        except ModelCannotAnswer as exc:
            raise ModelCannotAnswer(f"{member.label}: {' '.join(exc.messages)}") from None
        except InvalidInput as exc:
            for index, fields in exc.row_errors.items():
                for name, messages in fields.items():
                    by_message = errors.setdefault(index, {}).setdefault(name, {})
                    for message in messages:
                        by_message.setdefault(message, []).append(member.label)
    if errors:
        raise InvalidInput(
            {
                index: {name: _say(plan, name, by_message) for name, by_message in fields.items()}
                for index, fields in errors.items()
            }
        )
    return answers


@dataclass
class ComparisonWhatIf:
    """One row's answer from every member, and each member's sensitivity curves."""

    plan: ComparisonPlan
    answers: list[Answer]
    curves: list[list[dict[str, Any]]]

    def row(self) -> dict[str, Any]:
        """The validated row over the union of inputs (each member's typed values)."""
        merged: dict[str, Any] = {}
        for answer in self.answers:
            merged.update(answer.rows[0])
        return {name: merged.get(name) for name in self.plan.interface.names}

    def warnings(self) -> dict[str, list[str]]:
        """Per input, the range warnings, each naming the models it applies to."""
        found: dict[str, dict[str, list[str]]] = {}
        for member, answer in zip(self.plan.members, self.answers, strict=True):
            for w in answer.warnings:
                found.setdefault(w["field"], {}).setdefault(w["message"], []).append(member.label)
        return {name: _say(self.plan, name, by_message) for name, by_message in found.items()}


def comparison_whatif(
    *,
    plan: ComparisonPlan,
    row: Mapping[str, Any],
    user: User | AnonymousUser | None,
    source: str,
    points: int = 25,
) -> ComparisonWhatIf:
    """Answer one row with every member and sweep each member's inputs over the merged range.

    Every member's numbers run over the same x values (the widest training range of the set),
    so the curves of all members overlay in one panel per input. One sweep batch per member.
    Not stored; each answer is counted as a what-if redraw.
    """
    answers = comparison_predict(plan=plan, rows=[row], user=user, source=source, store=False)
    values = plan.sweep_values(points)
    curves = [
        sweep(
            version_estimator(member.version),
            member.interface,
            answer.frame,
            points=points,
            values=values,
        )
        for member, answer in zip(plan.members, answers, strict=True)
    ]
    return ComparisonWhatIf(plan=plan, answers=answers, curves=curves)


# ------------------------------------------------------------------ on the reference data
@dataclass
class Disagreement:
    """Where two members answer the shared reference rows differently.

    Classifiers: the matrix of one's predicted labels (rows) against the other's (columns),
    and how many rows differ. Regressors: both predictions per row and their mean absolute
    difference. ``rows`` lists rows that differ (classifiers) or differ most (regressors).
    """

    a: str
    b: str
    task: str
    total: int
    rows: list[dict[str, Any]]
    count: int = 0
    labels: list[str] = field(default_factory=list)
    matrix: list[list[int]] = field(default_factory=list)
    a_values: list[float] = field(default_factory=list)
    b_values: list[float] = field(default_factory=list)
    mean_abs_difference: float = 0.0
    max_abs_difference: float = 0.0

    @property
    def rate(self) -> float:
        return self.count / self.total if self.total else 0.0


@dataclass
class ReferenceComparison:
    """Every member scored on one shared set of reference rows (the first member's sample).

    ``reason`` says why there is no comparison at all; ``skipped`` why a member was left out.
    ``index`` holds the positions of the rows used in the first member's reference sample.
    """

    target: str = ""
    task: str = ""
    reason: str = ""
    skipped: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    index: list[int] = field(default_factory=list)
    left_out: int = 0
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    evaluation: dict[str, dict[str, Any]] = field(default_factory=dict)
    pairs: list[Disagreement] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.index)


def _reference_rows(plan: ComparisonPlan) -> tuple[pd.DataFrame, str, str]:
    first = plan.members[0]
    target = first.interface.output.get("target") or ""
    sample = first.version.reference_sample or []
    if not sample:
        return pd.DataFrame(), target, f"{first.label} keeps no reference rows."
    frame = pd.DataFrame.from_records(sample)
    if not target or target not in frame.columns:
        return frame, target, f"The reference rows of {first.label} hold no actual {target}."
    return frame, target, ""


def _disagreement(
    a: Member,
    b: Member,
    scores_a: Scores,
    scores_b: Scores,
    frame: pd.DataFrame,
    index: np.ndarray,
    first: Member,
    target: str,
) -> Disagreement:
    def row_of(position: int) -> dict[str, Any]:
        record = frame.iloc[position]
        return {
            "index": int(index[position]),
            "inputs": {n: native(record[n]) for n in first.interface.names},
            "actual": native(record[target]),
        }

    total = len(frame)
    if scores_a.task == "classification":
        left = [str(v) for v in scores_a.labels]
        right = [str(v) for v in scores_b.labels]
        labels = list(dict.fromkeys([*map(str, scores_a.classes), *map(str, scores_b.classes)]))
        position = {label: i for i, label in enumerate(labels)}
        matrix = np.zeros((len(labels), len(labels)), dtype=int)
        for x, y in zip(left, right, strict=True):
            matrix[position[x], position[y]] += 1
        differ = [i for i in range(total) if left[i] != right[i]]
        rows = [{**row_of(i), "a": left[i], "b": right[i]} for i in differ[:DISAGREEMENT_ROWS]]
        return Disagreement(
            a=a.label,
            b=b.label,
            task="classification",
            total=total,
            count=len(differ),
            labels=labels,
            matrix=matrix.tolist(),
            rows=rows,
        )
    left_v, right_v = scores_a.values, scores_b.values
    gap = np.abs(left_v - right_v)
    largest = np.argsort(-gap, kind="stable")[:LARGEST_DIFFERENCES]
    rows = [
        {
            **row_of(int(i)),
            "a": float(left_v[i]),
            "b": float(right_v[i]),
            "difference": float(left_v[i] - right_v[i]),
        }
        for i in largest
    ]
    return Disagreement(
        a=a.label,
        b=b.label,
        task="regression",
        total=total,
        count=int((gap > 0).sum()),
        a_values=left_v.round(5).tolist(),
        b_values=right_v.round(5).tolist(),
        mean_abs_difference=float(gap.mean()) if total else 0.0,
        max_abs_difference=float(gap.max()) if total else 0.0,
        rows=rows,
    )


LARGEST_DIFFERENCES = 20
_references: OrderedDict[tuple, ReferenceComparison] = OrderedDict()
_references_lock = threading.Lock()


def comparison_reference(*, plan: ComparisonPlan) -> ReferenceComparison:
    """Score every member on the first member's reference rows and compare them there.

    Versions of one model, or models with the same target, are scored on the same rows: the
    first member's stored reference sample, less rows without an actual value and rows some
    member refuses (an unknown category, say). A member whose target differs or whose inputs
    the rows lack is left out with the reason. For each member: metrics and curves as on the
    model card; for the first member against each other one: a :class:`Disagreement`.
    Each process keeps the result for a set of versions (and their revisions).
    """
    key = tuple((*version_key(m.version), m.label) for m in plan.members)
    with _references_lock:
        if key in _references:
            _references.move_to_end(key)
            return _references[key]
    result = _comparison_reference(plan)
    with _references_lock:
        _references[key] = result
        while len(_references) > 32:
            _references.popitem(last=False)
    return result


def _comparison_reference(plan: ComparisonPlan) -> ReferenceComparison:
    frame, target, reason = _reference_rows(plan)
    result = ReferenceComparison(target=target, task=plan.task, reason=reason)
    if reason:
        return result
    scored: list[Member] = []
    for member in plan.members:
        own = member.interface.output.get("target")
        missing = [n for n in member.interface.names if n not in frame.columns]
        if own != target:
            result.skipped.append(
                f"{member.label} predicts {own}, not {target}: it is left out of this section."
            )
        elif missing:
            result.skipped.append(
                f"{member.label} takes inputs the reference rows do not hold "
                f"({_names(missing)}): it is left out of this section."
            )
        else:
            scored.append(member)
    if len(scored) < MIN_MODELS:
        result.reason = "Fewer than two of these models can be scored on the same reference rows."
        return result
    # The rows every scored member accepts, with a known outcome.
    good = frame[target].notna().to_numpy().copy()
    for member in scored:
        good &= member.interface.validate_frame(frame[member.interface.names]).good
    index = np.flatnonzero(good)
    result.left_out = len(frame) - len(index)
    if len(index) == 0:
        result.reason = "No reference row is accepted by every model."
        return result
    shared = frame.iloc[index].reset_index(drop=True)
    actual = shared[target]
    all_scores: dict[str, Scores] = {}
    for member in scored:
        typed = member.interface.validate_frame(shared[member.interface.names]).frame
        estimator = version_estimator(member.version)
        evaluate = (
            classification_evaluation if plan.task == "classification" else regression_evaluation
        )
        try:
            metrics, evaluation = evaluate(estimator, member.interface, typed, actual)
        except ValueError as exc:  # e.g. an actual class the model has never seen
            result.skipped.append(f"{member.label} could not be evaluated here: {exc}")
            continue
        result.labels.append(member.label)
        result.metrics[member.label] = {k: float(v) for k, v in metrics.items()}
        result.evaluation[member.label] = evaluation
        all_scores[member.label] = score(estimator, typed, member.interface)
    if len(result.labels) < MIN_MODELS:
        result.reason = "Fewer than two of these models can be evaluated on the same rows."
        return result
    result.index = index.tolist()
    members = {m.label: m for m in scored}
    first = members[result.labels[0]]
    for label in result.labels[1:]:
        result.pairs.append(
            _disagreement(
                first,
                members[label],
                all_scores[first.label],
                all_scores[label],
                shared,
                index,
                plan.members[0],
                target,
            )
        )
    return result


# ------------------------------------------------------------------ two versions of one model
@dataclass
class InputDiff:
    """One input across two versions: ``added``, ``removed``, ``changed`` or ``same``."""

    name: str
    status: str
    a: str
    b: str
    changes: list[str] = field(default_factory=list)


@dataclass
class ValueDiff:
    key: str
    a: Any
    b: Any
    delta: float | None = None


@dataclass
class VersionDiff:
    """What differs between versions ``a`` and ``b`` of one model.

    ``forward`` is what a caller of ``a`` notices with ``b`` (breaking changes and notes),
    ``backward`` the same from ``b`` back to ``a``.
    """

    a: ModelVersion
    b: ModelVersion
    forward: Changes
    backward: Changes
    inputs: list[InputDiff]
    output: list[str]
    params: list[ValueDiff]
    params_same: int
    metrics: list[ValueDiff]

    @property
    def inputs_changed(self) -> list[InputDiff]:
        return [i for i in self.inputs if i.status != "same"]


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _summary(f: InputField | None) -> str:
    """An input in a few words: its type and its choices or training range."""
    if f is None:
        return "–"
    if f.type == "category":
        return f"category: {', '.join(f.choices)}"
    if f.observed_min is not None and f.observed_max is not None:
        return f"{f.type}, trained on {_shown(f.observed_min)}–{_shown(f.observed_max)}"
    return f.type


def _input_changes(before: InputField, after: InputField) -> list[str]:
    changes = []
    if before.type != after.type:
        return [f"type {before.type} → {after.type}"]
    removed = [c for c in before.choices if c not in after.choices]
    added = [c for c in after.choices if c not in before.choices]
    if added:
        changes.append(f"accepts {', '.join(added)} too")
    if removed:
        changes.append(f"no longer accepts {', '.join(removed)}")
    if (before.observed_min, before.observed_max) != (after.observed_min, after.observed_max):
        changes.append(
            f"training range {_shown(before.observed_min)}–{_shown(before.observed_max)} → "
            f"{_shown(after.observed_min)}–{_shown(after.observed_max)}"
        )
    if (before.min, before.max) != (after.min, after.max):
        changes.append(f"limits {before.min}..{before.max} → {after.min}..{after.max}")
    if before.required != after.required:
        changes.append("now required" if after.required else "now optional")
    for key in ("unit", "label", "default"):
        if before.spec.get(key) != after.spec.get(key):
            changes.append(f"{key} {before.spec.get(key)!r} → {after.spec.get(key)!r}")
    return changes


def _delta(a: Any, b: Any) -> float | None:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return float(b) - float(a)
    return None


# Parameters that are scikit-learn's plumbing, not a setting a person chose: a pipeline's
# list of steps (its members are listed by name), and the placeholder scikit-learn gives a
# parameter on its way out ("deprecated"), which is no value at all.
_PLUMBING = {"steps", "transformers", "estimators"}


def _settings(params: dict[str, Any] | None) -> dict[str, Any]:
    return {
        key: value
        for key, value in (params or {}).items()
        if key.rsplit("__", 1)[-1] not in _PLUMBING and value != "deprecated"
    }


def model_version_diff(*, a: ModelVersion, b: ModelVersion) -> VersionDiff:
    """Interface, parameter and metric differences between two versions of one model."""
    if a.model_id != b.model_id:
        raise ValidationError("A version diff compares two versions of one model.")
    old, new = version_interface(a), version_interface(b)
    inputs = []
    for name in [*new.names, *(n for n in old.names if n not in new.by_name)]:
        before, after = old.by_name.get(name), new.by_name.get(name)
        if before is None:
            status, changes = "added", []
        elif after is None:
            status, changes = "removed", []
        else:
            changes = _input_changes(before, after)
            status = "changed" if changes else "same"
        inputs.append(InputDiff(name, status, _summary(before), _summary(after), changes))
    output = [
        f"{key}: {old.output.get(key)!r} → {new.output.get(key)!r}"
        for key in dict.fromkeys([*old.output, *new.output])
        if old.output.get(key) != new.output.get(key)
    ]
    params_a, params_b = _settings(a.params), _settings(b.params)
    keys = sorted(set(params_a) | set(params_b))
    params = [
        ValueDiff(k, params_a.get(k), params_b.get(k))
        for k in keys
        if params_a.get(k) != params_b.get(k)
    ]
    metrics_a, metrics_b = a.metrics or {}, b.metrics or {}
    metrics = [
        ValueDiff(k, metrics_a.get(k), metrics_b.get(k), _delta(metrics_a.get(k), metrics_b.get(k)))
        for k in dict.fromkeys([*metrics_a, *metrics_b])
    ]
    return VersionDiff(
        a=a,
        b=b,
        forward=interface_compare(old, new),
        backward=interface_compare(new, old),
        inputs=inputs,
        output=output,
        params=params,
        params_same=len(keys) - len(params),
        metrics=metrics,
    )
