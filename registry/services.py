"""Writes to the registry: registering versions, aliases, predictions and feedback.

Every function is keyword-only and raises ``ValidationError`` (or a subclass) for anything a
caller got wrong; the API's exception handler and the pages' forms turn those into messages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from registry.artifacts import artifact_store, estimator_cache, estimator_from_bytes
from registry.coalescing import score_coalesced
from registry.evaluation import evaluate
from registry.explanations import (
    Background,
    Explanation,
    explanation_from,
    explanation_rows,
    score_batch,
)
from registry.inference import (
    Scores,
    finite_check,
    grid_result,
    grid_rows,
    score,
    score_parts,
    sweep_curves,
    sweep_rows,
)
from registry.interface import (
    Interface,
    Validated,
    _native,
    echo,
    frame_records,
    interface_actionability_set,
    interface_compare,
    interface_infer,
)
from registry.kinds import native_prepare
from registry.models import (
    Alias,
    AuditEvent,
    BatchChunk,
    BatchJob,
    JobStatus,
    ModelVersion,
    Prediction,
    RegisteredModel,
    Source,
    Tag,
    Usage,
)
from registry.selectors import (
    prediction_explanation,
    version_background,
    version_estimator,
    version_interface,
)


class PayloadTooLarge(ValidationError):
    """More rows (or bytes) than a setting allows in one call."""


def rows_limit_check(count: int) -> None:
    """Refuse more rows than one call may carry (``MAX_ROWS_PER_CALL``).

    Every face calls it with the count its request declares, before it builds a row.
    """
    limit = settings.PORTAL["MAX_ROWS_PER_CALL"]
    if count > limit:
        raise PayloadTooLarge({"inputs": [f"Send at most {limit:,} rows in one call."]})


def _actor(user: User | AnonymousUser | None) -> User | None:
    return user if user is not None and user.is_authenticated else None


# ------------------------------------------------------------------ reference data
def reference_read(*, data: bytes) -> pd.DataFrame:
    """Parse reference data (CSV bytes) with errors a person can act on."""
    if not data.strip():
        raise ValidationError({"reference_data": ["The reference data file is empty."]})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            {"reference_data": [f"The reference data is not UTF-8 (byte {exc.start})."]}
        ) from None
    try:
        frame = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValidationError(
            {"reference_data": [f"The reference data is not a readable CSV: {exc}"]}
        ) from None
    if frame.empty:
        raise ValidationError({"reference_data": ["The reference data has no rows."]})
    return frame


def _json_params(estimator: Any) -> dict[str, Any]:
    """The estimator's parameters as JSON: nested estimators by class name."""
    params = {}
    for key, value in sorted(estimator.get_params(deep=True).items()):
        value = _native(value)
        if value is None or isinstance(value, bool | int | float | str):
            params[key] = value
        elif isinstance(value, list | tuple) and all(
            isinstance(v, bool | int | float | str) for v in value
        ):
            params[key] = list(value)
        else:
            params[key] = type(value).__name__
    return params


def _check_predicts(estimator: Any, interface: Interface, frame: pd.DataFrame) -> None:
    try:
        score(estimator, frame, interface)
    except Exception as exc:  # any failure of the user's model is a refusal, not a 500
        raise ValidationError(
            {"artifact": [f"The model failed to predict on the reference rows: {exc}"]}
        ) from None


# ------------------------------------------------------------------ registration
def model_version_register(
    *,
    name: str,
    artifact: bytes,
    reference: bytes | None = None,
    target: str | None = None,
    title: str = "",
    description: str = "",
    interface: Mapping[str, Any] | None = None,
    alias: str | None = None,
    allow_breaking: bool = False,
    tags: Sequence[str] = (),
    source: str = "",
    notes: str = "",
    origin: Mapping[str, Any] | None = None,
    user: User | None = None,
) -> ModelVersion:
    """Register a model file as the next version of ``name`` (a new model if unknown).

    Loads the file safely, takes the interface given or infers it from the reference data,
    checks that the model predicts on that data, refuses a breaking interface change unless
    ``allow_breaking``, computes metrics when ``target`` is given, and records lineage (with
    ``origin``, where the version came from in another registry) and an audit event. The slow
    work (loading, reading the CSV, predicting, metrics, storing the file) is done before the
    transaction opens: on SQLite a transaction holds the one write lock, and every other
    request that writes would wait for it.
    """
    try:
        validate_slug(name)
    except ValidationError:
        raise ValidationError(
            {"name": ["Use letters, numbers, hyphens or underscores for the name."]}
        ) from None
    limit = settings.PORTAL["MAX_ARTIFACT_BYTES"]
    if len(artifact) > limit:
        raise PayloadTooLarge({"artifact": [f"The model file is larger than {limit} bytes."]})
    if alias is not None:
        _alias_name_check(alias)
    estimator = estimator_from_bytes(artifact)

    frame = reference_read(data=reference) if reference is not None else None
    estimator, kind_notes = native_prepare(
        estimator, frame=frame, target=target, interface=interface
    )
    notes = "\n".join(filter(None, [notes, *kind_notes]))
    if interface is not None:
        spec = Interface(interface)
        expected = getattr(estimator, "feature_names_in_", None)
        if expected is not None and list(map(str, expected)) != spec.names:
            raise ValidationError(
                {"interface": [f"The model expects inputs {list(map(str, expected))} in order."]}
            )
        if target and frame is not None and target not in frame.columns:
            raise ValidationError({"target": [f"The reference data has no column '{target}'."]})
    elif frame is not None:
        spec = interface_infer(estimator=estimator, reference=frame, target=target)
    else:
        raise ValidationError({"reference_data": ["Give reference data or an explicit interface."]})

    if frame is not None:
        inputs = spec.validate(frame_records(frame[spec.names])).frame
        reference_sample = frame_records(frame[spec.names + ([target] if target else [])])
    else:
        inputs = spec.validate([spec.defaults()]).frame
        reference_sample = []
    _check_predicts(estimator, spec, inputs.iloc[:100])

    metrics, evaluation = {}, {}
    if target and frame is not None:
        metrics, evaluation = evaluate(estimator, spec, inputs, frame[target])
    stored = artifact_store(data=artifact)  # by content: harmless if the transaction fails
    with transaction.atomic():
        version = _version_record(
            name=name,
            spec=spec,
            estimator=estimator,
            stored=stored,
            frame=frame,
            reference=reference,
            reference_sample=reference_sample,
            target=target,
            metrics=metrics,
            evaluation=evaluation,
            title=title,
            description=description,
            alias=alias,
            allow_breaking=allow_breaking,
            tags=tags,
            source=source,
            notes=notes,
            origin=origin,
            user=user,
        )
    # The estimator is already in memory: answering its first request needs no file read.
    estimator_cache.put(stored.sha256, estimator)
    return version


def _version_record(
    *,
    name: str,
    spec: Interface,
    estimator: Any,
    stored: Any,
    frame: pd.DataFrame | None,
    reference: bytes | None,
    reference_sample: list[dict[str, Any]],
    target: str | None,
    metrics: dict[str, Any],
    evaluation: dict[str, Any],
    title: str,
    description: str,
    alias: str | None,
    allow_breaking: bool,
    tags: Sequence[str],
    source: str,
    notes: str,
    origin: Mapping[str, Any] | None,
    user: User | None,
) -> ModelVersion:
    """The database half of registration: quick writes, inside the caller's transaction."""
    model = RegisteredModel.objects.select_for_update().filter(name=name).first()
    created = model is None
    if created:
        model = RegisteredModel(
            name=name,
            title=title or name.replace("-", " ").replace("_", " ").title(),
            description=description,
            task=spec.task,
            owner=user,
        )
        model.full_clean()
        model.save()
        AuditEvent.objects.create(
            actor=user,
            action=AuditEvent.Action.MODEL_CREATED,
            model=model,
            details={"title": model.title},
        )
    else:
        if title:
            model.title = title
        if description:
            model.description = description
        model.save(update_fields=["title", "description"])
    if tags:
        model.tags.add(*[Tag.objects.get_or_create(name=t)[0] for t in tags])

    parent = model.versions.order_by("-number").first()
    breaking: list[str] = []
    notes_on_interface: list[str] = []
    if parent is not None:
        changes = interface_compare(version_interface(parent), spec)
        breaking, notes_on_interface = changes.breaking, changes.notes
        if breaking and not allow_breaking:
            raise ValidationError(
                {
                    "interface": [
                        f"Breaking change against version {parent.number}: "
                        + " ".join(breaking)
                        + " Register with allow_breaking to accept it."
                    ]
                }
            )

    sample_rows = settings.PORTAL["REFERENCE_SAMPLE_ROWS"]
    version = ModelVersion(
        model=model,
        number=(parent.number + 1) if parent else 1,
        artifact=stored.path,
        artifact_sha256=stored.sha256,
        artifact_size=stored.size,
        framework=getattr(estimator, "framework", "scikit-learn"),
        framework_version=getattr(estimator, "framework_version", sklearn.__version__),
        estimator_class=getattr(estimator, "estimator_class", "")
        or f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        interface=spec.to_dict(),
        metrics=metrics,
        evaluation=evaluation,
        params=_json_params(estimator),
        reference_fingerprint=hashlib.sha256(reference).hexdigest() if reference else "",
        reference_rows=len(frame) if frame is not None else 0,
        source=source,
        parent=parent,
        notes="\n".join(filter(None, [notes, *notes_on_interface])),
        breaking_changes=breaking,
        reference_sample=reference_sample[:sample_rows],
        origin=dict(origin or {}),
        created_by=user,
    )
    version.full_clean()
    version.save()
    AuditEvent.objects.create(
        actor=user,
        action=AuditEvent.Action.VERSION_REGISTERED,
        model=model,
        version=version,
        details={"number": version.number, "sha256": stored.sha256, "breaking": breaking},
    )
    if alias:
        alias_set(model=model, name=alias, version=version, user=user)
    return version


def model_tags_add(*, model: RegisteredModel, tags: Sequence[str]) -> list[str]:
    """Add tags to a model; returns those it did not have yet."""
    have = set(model.tags.values_list("name", flat=True))
    new = [t for t in dict.fromkeys(tags) if t not in have]
    if new:
        model.tags.add(*[Tag.objects.get_or_create(name=t)[0] for t in new])
    return new


# ------------------------------------------------------------------ aliases
# The two aliases a promotion swaps (see ``alias_set``).
CHAMPION, CHALLENGER = "champion", "challenger"


@transaction.atomic
def alias_set(
    *,
    model: RegisteredModel,
    name: str,
    version: ModelVersion,
    user: User | None = None,
    reason: str = "",
) -> Alias:
    """Point ``model@name`` at ``version`` (audited, with ``reason`` when one is given)."""
    _alias_name_check(name)
    if version.model_id != model.pk:
        raise ValidationError({"version": [f"Version {version.number} is not of {model.name}."]})
    previous = Alias.objects.select_for_update().filter(model=model, name=name).first()
    before = previous.version.number if previous else None
    alias, _ = Alias.objects.update_or_create(
        model=model, name=name, defaults={"version": version, "updated_by": user}
    )
    AuditEvent.objects.create(
        actor=user,
        action=AuditEvent.Action.ALIAS_SET,
        model=model,
        version=version,
        details={
            "alias": name,
            "from": before,
            "to": version.number,
            **({"reason": reason} if reason else {}),
        },
    )
    if name == CHAMPION and before not in (None, version.number):
        # A promotion: the challenger becomes the champion, and the champion it replaces
        # becomes the challenger, so no version reads "challenger · champion".
        challenger = Alias.objects.filter(model=model, name=CHALLENGER, version=version).first()
        if challenger is not None:
            alias_set(
                model=model,
                name=CHALLENGER,
                version=previous.version,
                user=user,
                reason=f"swapped with champion (v{version.number} promoted)",
            )
    return alias


def _alias_name_check(name: str) -> None:
    # Checked here, not left to the database: SQLite stores 3,000 characters in a varchar(50).
    limit = Alias._meta.get_field("name").max_length
    if len(name) > limit:
        raise ValidationError({"alias": [f"Use at most {limit} characters for an alias."]})
    try:
        validate_slug(name)
    except ValidationError:
        raise ValidationError(
            {"alias": ["Use letters, numbers, hyphens or underscores for an alias."]}
        ) from None


@transaction.atomic
def alias_remove(*, model: RegisteredModel, name: str, user: User | None = None) -> None:
    """Remove ``model@name`` (audited); raises ``Alias.DoesNotExist`` if there is none."""
    alias = Alias.objects.select_for_update().filter(model=model, name=name).first()
    if alias is None:
        raise Alias.DoesNotExist(f"Model '{model.name}' has no alias '{name}'.")
    AuditEvent.objects.create(
        actor=user,
        action=AuditEvent.Action.ALIAS_REMOVED,
        model=model,
        version=alias.version,
        details={"alias": name, "from": alias.version.number},
    )
    alias.delete()


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
    except ValidationError:
        if store:  # a what-if redraw is exploration, not a call the model serves
            usage_count(version=version, kind=f"refused.{source}")
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


def _background_or_none(version: ModelVersion) -> Background | None:
    try:
        return version_background(version)
    except ValidationError:  # no reference rows, or a labels-only model: nothing to explain
        return None


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
    background = _background_or_none(version) if explain else None
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
        user=_actor(user),
        source=source,
        inputs=inputs,
        outputs=outputs,
        warnings=warnings,
        row_count=len(inputs) if row_count is None else row_count,
        latency_ms=round(latency_ms, 3),
        name=name[:200],
    )
    _insert(prediction)
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


def prediction_explanation_keep(*, prediction: Prediction) -> Explanation | None:
    """The explanation of a stored answer (see ``selectors.prediction_explanation``),
    computed once and kept with it: its page and its embed, which anyone holding a share link
    may open as often as they like, read it back instead of running the model again."""
    if prediction.explanation is not None:
        return Explanation(**prediction.explanation) if prediction.explanation else None
    explanation = prediction_explanation(prediction=prediction)
    kept = asdict(explanation) if explanation is not None else {}
    Prediction.objects.filter(pk=prediction.pk).update(explanation=kept)
    prediction.explanation = kept
    return explanation


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


# ------------------------------------------------------------------ batch jobs
BATCH_MAX_ATTEMPTS = 2


def batch_job_create(
    *, version: ModelVersion, upload: Any, name: str, user: User | AnonymousUser | None
) -> BatchJob:
    """Check an uploaded CSV, store it, and queue a job to score it.

    The header is checked now (every required input present, UTF-8), so a file that cannot be
    scored is refused at upload with the missing names; row errors come later, per row.
    """
    from registry import batch
    from registry.tasks import batch_job_start

    limit = settings.PORTAL["MAX_BATCH_BYTES"]
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise PayloadTooLarge({"file": [f"The file is larger than {limit:,} bytes."]})
    batch.header_check(interface=version_interface(version), head=batch.header_read(upload))
    job = BatchJob(
        version=version,
        user=_actor(user),
        input_name=name[:255] or "upload.csv",
        input_bytes=size or 0,
    )
    job.input_file = batch.store_upload(f"batch/{job.pk}/input.csv", upload)
    job.save()
    transaction.on_commit(lambda: batch_job_start.enqueue(str(job.pk)))
    return job


def batch_job_refresh(*, job: BatchJob) -> BatchJob:
    """Notice a worker that died mid-job: re-queue its chunk once, then fail the job.

    A running chunk whose heartbeat is older than ``BATCH_STALE_SECONDS`` lost its worker.
    Called whenever someone looks at a job, so no job stays "running" forever.
    """
    from registry.tasks import batch_chunk_score

    job.refresh_from_db()
    if job.status != JobStatus.RUNNING:
        return job
    cutoff = timezone.now() - dt.timedelta(seconds=settings.PORTAL["BATCH_STALE_SECONDS"])
    if job.chunks_total == 0 and job.started_at and job.started_at < cutoff:
        _batch_job_fail(job, "The worker stopped before the file was split. Upload it again.")
        return job
    for chunk in job.chunks.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff):
        last = chunk.first_row + chunk.rows - 1
        if chunk.attempts >= BATCH_MAX_ATTEMPTS:
            _batch_job_fail(
                job,
                f"Workers stopped {chunk.attempts} times while scoring rows "
                f"{chunk.first_row}–{last}; the job was stopped. Upload the file again.",
            )
            return job
        if BatchChunk.objects.filter(
            pk=chunk.pk, status=JobStatus.RUNNING, attempts=chunk.attempts
        ).update(status=JobStatus.QUEUED):
            pk = chunk.pk
            transaction.on_commit(lambda pk=pk: batch_chunk_score.enqueue(pk))
    return job


def _batch_job_fail(job: BatchJob, message: str) -> None:
    BatchJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=JobStatus.FAILED, message=message, finished_at=timezone.now()
    )
    job.refresh_from_db()


# ------------------------------------------------------------------ what a person can change
@transaction.atomic
def version_actionability_set(
    *,
    version: ModelVersion,
    changes: Mapping[str, Mapping[str, Any]],
    user: User | AnonymousUser | None,
) -> ModelVersion:
    """Change which inputs are actionable, and in which direction, on a registered version.

    The only edit a registered version takes: it changes no prediction, only what "what
    would it take" may move. Audited with the before and after of each changed input.
    """
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
    before = {item["name"]: item for item in version.interface["inputs"]}
    updated = interface_actionability_set(version.interface, changes)
    diff = {}
    for item in updated["inputs"]:
        old = before[item["name"]]
        was = (old.get("actionable", True), old.get("direction", "any"))
        now = (item.get("actionable", True), item.get("direction", "any"))
        if was != now:
            diff[item["name"]] = {
                "actionable": [was[0], now[0]],
                "direction": [was[1], now[1]],
            }
    if not diff:
        return version
    version.interface = updated
    version.save(update_fields=["interface"])
    AuditEvent.objects.create(
        actor=_actor(user),
        action=AuditEvent.Action.ACTIONABILITY_SET,
        model=version.model,
        version=version,
        details={"number": version.number, "inputs": diff},
    )
    return version
