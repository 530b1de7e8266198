"""Answering: one call's rows scored and stored, what-if sweeps, feedback and usage.

Every function is keyword-only and raises ``ValidationError`` (or a subclass) for anything a
caller got wrong; each face turns those into messages.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from registry import roles
from registry.explain.explanations import (
    Explanation,
    explanation_from,
    explanation_rows,
    score_batch,
)
from registry.explain.selectors import version_background_or_none
from registry.inference import (
    Scores,
    finite_check,
    grid_result,
    grid_rows,
    score_parts,
    sweep_curves,
    sweep_rows,
)
from registry.interface import (
    Interface,
    Validated,
    echo,
)
from registry.limits import rows_limit_check
from registry.models import (
    ModelVersion,
    Prediction,
    Source,
    Usage,
)
from registry.predict.coalescing import score_coalesced
from registry.predict.hooks import answer_stored
from registry.predict.refusals import refusal_count
from registry.runtime import version_estimator, version_interface


# ------------------------------------------------------------------ predictions
@dataclass
class Answer:
    """What one prediction call returns, whether or not it was stored."""

    version: ModelVersion
    rows: list[dict[str, Any]]
    predictions: list[dict[str, Any]]
    warnings: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: float = 0.0
    prediction: Prediction | None = None
    validated: Validated | None = None

    @property
    def frame(self) -> pd.DataFrame | None:
        """The validated rows as the typed DataFrame the model was (or would be) given."""
        return self.validated.frame if self.validated is not None else None


def prediction_run(
    *,
    version: ModelVersion,
    rows: Sequence[Mapping[str, Any]],
    user: User | AnonymousUser | None,
    source: str,
    store: bool = True,
    name: str = "",
    scorer: Callable[[Any, Validated, Interface], Scores] = score_coalesced,
) -> Answer:
    """Validate rows against the version's interface, predict, and store the call.

    Raises ``InvalidInput`` naming each bad row and field, or ``PayloadTooLarge``; nothing is
    stored for a refused call, only counted (``refused.<source>``, for monitoring). With
    ``store=False`` (a what-if redraw) the answer is only counted in the usage table, and a
    refusal not at all. ``scorer`` answers the validated rows (by default in one batch with
    any concurrent calls to the same model; a what-if asks other rows in the same call).
    """
    started = time.perf_counter()
    try:
        if isinstance(rows, Sequence):
            rows_limit_check(len(rows))
        interface = version_interface(version)
        validated = interface.validate(rows)
        estimator = version_estimator(version)
        # Calls arriving while the model answers another are answered with it, in one batch.
        predictions = scorer(estimator, validated, interface).records()
    except ValidationError as exc:
        if store:  # a what-if redraw is exploration, not a call the model serves
            usage_count(version=version, kind=f"refused.{source}")
            refusal_count(
                version=version, source=source, exc=exc, inputs=version_interface(version).names
            )
        raise
    latency = (time.perf_counter() - started) * 1000
    clean_rows = validated.rows
    answer = Answer(
        version=version,
        rows=clean_rows,
        predictions=predictions,
        warnings=validated.warnings,
        latency_ms=latency,
        validated=validated,
    )
    if store:
        answer.prediction = prediction_create(
            version=version,
            user=user,
            source=source,
            inputs=clean_rows,
            outputs=predictions,
            warnings=validated.warnings,
            latency_ms=latency,
            name=name,
        )
    else:
        usage_count(version=version, kind="whatif")
    return answer


@dataclass
class WhatIf:
    """One row's answer, how it moves as each input moves, and (when asked) why."""

    answer: Answer
    curves: list[dict[str, Any]]
    grid: dict[str, Any] | None = None
    explanation: Explanation | None = None


MAX_SWEEP_POINTS = 100


MAX_GRID_POINTS = 30  # per side of a two-input grid


def whatif_run(
    *,
    version: ModelVersion,
    row: Mapping[str, Any],
    user: User | AnonymousUser | None,
    source: str,
    features: Sequence[str] | None = None,
    points: int = 25,
    pair: tuple[str, str] | None = None,
    pair_class: str | None = None,
    explain: bool = False,
    explain_class: str | None = None,
    store: bool = False,
    name: str = "",
) -> WhatIf:
    """Answer one row, then sweep each input (or ``features``) over ``points`` values.

    ``pair`` adds a two-input grid, of ``pair_class``'s probability for a classifier (by
    default the class the row is given). ``explain`` adds the answer's explanation, of
    ``explain_class``'s probability for a classifier (by default the class given), or None
    where the version cannot be explained (no reference rows, labels only). The answer, the
    sweep, the grid and the explanation's rows are one batch through the model. Not stored
    unless ``store`` (a saved or submitted scenario); a redraw is only counted.
    """
    interface = version_interface(version)
    wanted = [*(features or []), *(pair or [])]
    unknown = [f for f in wanted if f not in interface.by_name]
    if unknown:
        raise ValidationError({"features": [f"Unknown input: {', '.join(unknown)}."]})
    if pair is not None and pair[0] == pair[1]:
        raise ValidationError({"features": ["Choose two different inputs for the grid."]})
    if not 2 <= points <= MAX_SWEEP_POINTS:
        raise ValidationError({"points": [f"Choose between 2 and {MAX_SWEEP_POINTS} points."]})
    background = version_background_or_none(version) if explain else None
    asked: dict[str, Any] = {}
    parts: dict[str, Scores] = {}

    def together(estimator: Any, validated: Validated, interface: Interface) -> Scores:
        """The answer's row, the sweep's, the grid's and the explanation's in one call."""
        frame = validated.frame
        asked["sweep"] = sweep_rows(
            interface, frame, features=list(features or []) or None, points=points
        )
        if pair is not None:
            asked["grid"] = grid_rows(
                interface, frame, x=pair[0], y=pair[1], points=min(points, MAX_GRID_POINTS)
            )
        if background is not None:
            asked["explain"] = explanation_rows(
                interface=interface, row=frame, background=background, target_class=explain_class
            )
        names = ["answer", *(k for k, v in asked.items() if v is not None)]
        frames = [frame, *(asked[k].frame for k in names[1:])]
        scored = score_parts(estimator, frames, interface, scorer=partial(score_batch, check=False))
        parts.update(zip(names, scored, strict=True))
        finite_check(parts["answer"])  # each other part is checked where it is read
        return parts["answer"]

    answer = prediction_run(
        version=version,
        rows=[row],
        user=user,
        source=source,
        store=store,
        name=name,
        scorer=together,
    )
    curves = sweep_curves(interface, answer.frame, asked["sweep"], parts.get("sweep"))
    two_way = None
    if pair is not None:
        target = pair_class if pair_class is not None else answer.predictions[0].get("label")
        two_way = grid_result(interface, asked["grid"], parts["grid"], target_class=target)
    explanation = None
    if background is not None:
        try:
            explanation = explanation_from(
                interface=interface,
                row=answer.frame,
                background=background,
                rows=asked["explain"],
                answer=parts["answer"],
                scores=parts["explain"],
                target_class=explain_class,
            )
        except ValidationError:  # labels only: the answer stands without its explanation
            explanation = None
    return WhatIf(answer=answer, curves=curves, grid=two_way, explanation=explanation)


def prediction_create(
    *,
    version: ModelVersion,
    user: User | AnonymousUser | None,
    source: str,
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    warnings: list[dict[str, Any]],
    latency_ms: float,
    name: str = "",
    row_count: int | None = None,
) -> Prediction:
    """Store one answered call (``row_count`` when ``inputs`` holds only the first rows)."""
    if source not in Source.values:
        raise ValidationError({"source": [f"Unknown source {source!r}."]})
    prediction = Prediction(
        version=version,
        user=roles.acting_user(user),
        source=source,
        inputs=inputs,
        outputs=outputs,
        warnings=warnings,
        row_count=len(inputs) if row_count is None else row_count,
        latency_ms=round(latency_ms, 3),
        name=name[:200],
    )
    _insert(prediction)
    answer_stored(prediction)
    return prediction


_insert_sql: dict[str, str] = {}


def _insert(instance: Prediction) -> None:
    """``INSERT`` one new prediction, committed when this returns outside a transaction.

    What ``Model.save()`` does for a new row with a client-side primary key, less building the
    statement each time (a third of a one-row call): the same fields prepare their values for
    the same backend. No signal handler listens to predictions.
    """
    fields = Prediction._meta.concrete_fields
    sql = _insert_sql.get(connection.vendor)
    if sql is None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        sql = _insert_sql[connection.vendor] = (
            f"INSERT INTO {quote(Prediction._meta.db_table)} ({columns}) VALUES ({placeholders})"
        )
    params = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    instance._state.adding = False
    instance._state.db = connection.alias


def prediction_feedback_set(*, prediction: Prediction, actual: Any) -> Prediction:
    """Record the actual outcome of a prediction (one value, or one per row)."""
    if actual is None or (isinstance(actual, float) and not np.isfinite(actual)):
        raise ValidationError({"actual": ["Give the actual outcome."]})
    classes = prediction.version.interface["output"].get("classes")
    values = actual if isinstance(actual, list) else [actual]
    if len(values) != prediction.row_count:
        raise ValidationError({"actual": [f"Give one outcome per row ({prediction.row_count})."]})
    if classes:
        allowed = {str(c) for c in classes}
        wrong = [v for v in values if str(v) not in allowed]
        if wrong:
            raise ValidationError(
                {"actual": [f"{echo(wrong[0])} is not one of: {', '.join(map(str, classes))}."]}
            )
    else:
        try:
            values = [float(v) for v in values]
        except (TypeError, ValueError):
            raise ValidationError({"actual": ["Enter a number."]}) from None
        if not all(math.isfinite(v) for v in values):
            raise ValidationError({"actual": ["Enter a finite number."]})
    prediction.feedback = values if isinstance(actual, list) else values[0]
    prediction.feedback_at = timezone.now()
    prediction.save(update_fields=["feedback", "feedback_at"])
    return prediction


def prediction_share_reset(*, prediction: Prediction) -> Prediction:
    """Give a prediction a new share key: every share link made before stops working."""
    prediction.share_key = secrets.token_urlsafe(16)
    prediction.save(update_fields=["share_key"])
    return prediction


def usage_count(*, version: ModelVersion, kind: str, n: int = 1) -> None:
    """Count ``n`` answers of a kind for today (an upsert, safe under concurrency)."""
    today: dt.date = timezone.localdate()
    updated = Usage.objects.filter(version=version, day=today, kind=kind).update(
        count=F("count") + n
    )
    if not updated:
        try:
            with transaction.atomic():
                Usage.objects.create(version=version, day=today, kind=kind, count=n)
        except IntegrityError:
            Usage.objects.filter(version=version, day=today, kind=kind).update(count=F("count") + n)
