"""Writes to the catalog: registering versions, tags, aliases and what is actionable.

Every function is keyword-only and raises ``ValidationError`` (or a subclass) for anything a
caller got wrong; each face turns those into messages.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import sklearn
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from registry import roles
from registry.artifacts.store import artifact_store, estimator_cache, estimator_from_bytes
from registry.catalog.evaluation import evaluate
from registry.conflicts import Conflict
from registry.events.services import event_publish
from registry.inference import (
    score,
)
from registry.interface import (
    Interface,
    frame_records,
    interface_actionability_set,
    interface_compare,
    interface_infer,
    native,
)
from registry.kinds import native_prepare
from registry.known import interface_enrich, interface_from_model
from registry.limits import PayloadTooLarge
from registry.models import (
    Alias,
    AuditEvent,
    ModelVersion,
    RegisteredModel,
    Tag,
)
from registry.runtime import version_interface


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


def _kept_check(keep: Sequence[str], frame: pd.DataFrame | None, target: str | None) -> list[str]:
    """The reference columns to keep beside the inputs, checked against the reference data."""
    keep = list(dict.fromkeys(keep))
    if not keep:
        return []
    if frame is None:
        raise ValidationError({"keep": ["Columns can only be kept from reference data."]})
    missing = [k for k in keep if k not in frame.columns]
    if missing:
        raise ValidationError({"keep": [f"The reference data has no column {missing[0]!r}."]})
    if target in keep:
        raise ValidationError({"keep": ["The target is kept already."]})
    return keep


def _json_value(value: Any) -> Any:
    # JSON has no NaN or infinity (the database refuses them): a SimpleImputer's
    # missing_values=nan is kept as the text "nan".
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _json_params(estimator: Any) -> dict[str, Any]:
    """The estimator's parameters as JSON: nested estimators by class name."""
    params = {}
    for key, value in sorted(estimator.get_params(deep=True).items()):
        value = native(value)
        if value is None or isinstance(value, bool | int | float | str):
            params[key] = _json_value(value)
        elif isinstance(value, list | tuple) and all(
            isinstance(v, bool | int | float | str) for v in value
        ):
            params[key] = [_json_value(v) for v in value]
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
    keep: Sequence[str] = (),
) -> ModelVersion:
    """Register a model file as the next version of ``name`` (a new model if unknown).

    ``keep`` names reference columns the model does not take that are kept in the reference
    sample (and listed as the interface's ``kept`` columns), so a manager can mark them
    sensitive and fairness figures group by them: an age band kept out of the model, say.

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
    keep = _kept_check(keep, frame, target)
    inferred_from = frame.drop(columns=keep) if keep else frame
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
        spec = interface_infer(estimator=estimator, reference=inferred_from, target=target)
        # Every category the model was trained on, not only those the rows show.
        enriched, known_notes = interface_enrich(spec.to_dict(), estimator)
        spec = Interface(enriched)
        notes = "\n".join(filter(None, [notes, *known_notes]))
    else:
        spec, known_notes = interface_from_model(estimator, target=target)
        notes = "\n".join(filter(None, [notes, *known_notes]))

    if keep:
        named = {k["name"] for k in spec.kept}
        kept = spec.kept + [{"name": k} for k in keep if k not in named]
        spec = Interface({**spec.to_dict(), "kept": kept})
    if frame is not None:
        inputs = spec.validate(frame_records(frame[spec.names])).frame
        columns = spec.names + ([target] if target else []) + [k["name"] for k in spec.kept]
        reference_sample = frame_records(frame[[c for c in columns if c in frame.columns]])
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
    event_publish(
        event="version.registered",
        model=model,
        version=version,
        data={"number": version.number, "sha256": stored.sha256, "breaking": breaking},
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
    approved: bool = False,
) -> Alias:
    """Point ``model@name`` at ``version`` (audited, with ``reason`` when one is given).

    The champion of a model that requires approval moves only with ``approved`` (a second
    manager approved a promotion request, ``registry.releases``): otherwise ``Conflict``.
    """
    _alias_name_check(name)
    if version.model_id != model.pk:
        raise ValidationError({"version": [f"Version {version.number} is not of {model.name}."]})
    if name == CHAMPION and not approved:
        _approval_check(model)
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
    event_publish(
        event="alias.moved",
        model=model,
        version=version,
        data={"alias": name, "from": before, "to": version.number, "reason": reason},
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


def _approval_check(model: RegisteredModel) -> None:
    # Read afresh: the model object may predate the manager's switch.
    required = RegisteredModel.objects.filter(pk=model.pk).values_list(
        "requires_approval", flat=True
    )
    if required.first():
        raise Conflict(
            f"{model.name} requires approval: the champion moves only when another manager "
            f"approves a promotion request (POST /api/v1/models/{model.name}/promotions/).",
            code="approval_required",
        )


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
    if name == CHAMPION:
        _approval_check(model)
    AuditEvent.objects.create(
        actor=user,
        action=AuditEvent.Action.ALIAS_REMOVED,
        model=model,
        version=alias.version,
        details={"alias": name, "from": alias.version.number},
    )
    event_publish(
        event="alias.moved",
        model=model,
        version=alias.version,
        data={"alias": name, "from": alias.version.number, "to": None, "reason": "removed"},
    )
    alias.delete()


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
    return version_interface_revise(
        version=version,
        updated=updated,
        user=user,
        action=AuditEvent.Action.ACTIONABILITY_SET,
        details={"inputs": diff},
    )


def version_interface_revise(
    *,
    version: ModelVersion,
    updated: dict[str, Any],
    user: User | AnonymousUser | None,
    action: str,
    details: dict[str, Any],
) -> ModelVersion:
    """Store a registered version's changed interface (what is actionable, sensitive…: never
    what it predicts), one revision up so every process's cache of it follows, audited."""
    version.interface = updated
    version.revision += 1
    version.save(update_fields=["interface", "revision"])
    AuditEvent.objects.create(
        actor=roles.acting_user(user),
        action=action,
        model=version.model,
        version=version,
        details={"number": version.number, **details},
    )
    return version
