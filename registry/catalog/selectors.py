"""Reads of the catalog: models, versions, aliases, tags and the audit trail. None writes."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Max, OuterRef, Prefetch, Q, QuerySet, Subquery

from registry.interface import echo
from registry.models import (
    Alias,
    AuditEvent,
    ModelVersion,
    RegisteredModel,
    Tag,
    version_number_storable,
)

CHAMPION = "champion"


def registered_model_list(
    *, search: str = "", task: str = "", tag: str = "", include_archived: bool = False
) -> QuerySet[RegisteredModel]:
    """Models for the catalog, with their tags, aliases and newest version number.

    ``champion_number`` and ``latest_number`` are annotated so a page of any length costs
    the same few queries (a user's use of each is :func:`model_use`).
    """
    qs = RegisteredModel.objects.all()
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    if search:
        qs = qs.filter(
            Q(name__icontains=search)
            | Q(title__icontains=search)
            | Q(description__icontains=search)
        )
    if task:
        qs = qs.filter(task=task)
    if tag:
        qs = qs.filter(tags__name=tag)
    champion = Alias.objects.filter(model=OuterRef("pk"), name=CHAMPION)
    return qs.annotate(
        latest_number=Max("versions__number"),
        champion_number=Subquery(champion.values("version__number")[:1]),
        champion_metrics=Subquery(champion.values("version__metrics")[:1]),
    ).prefetch_related("tags", Prefetch("aliases", Alias.objects.select_related("version")))


def registered_model_get(*, name: str) -> RegisteredModel:
    """The model called ``name``; raises ``RegisteredModel.DoesNotExist`` with a message."""
    try:
        return RegisteredModel.objects.get(name=name)
    except RegisteredModel.DoesNotExist:
        raise RegisteredModel.DoesNotExist(f"No model is named '{name}'.") from None


def model_version_select(
    *, model: RegisteredModel, version: int | None = None, alias: str | None = None
) -> ModelVersion:
    """The version a request means: explicit number, else alias, else champion, else newest.

    Read from the database on every call, so a changed champion takes effect on the next
    request in every process.
    """
    versions = ModelVersion.objects.select_related("model")
    if version is not None:
        try:
            if not version_number_storable(version):  # never reaches the database
                raise ModelVersion.DoesNotExist
            return versions.get(model=model, number=version)
        except ModelVersion.DoesNotExist:
            raise ModelVersion.DoesNotExist(
                f"Model '{model.name}' has no version {version}."
            ) from None
    if alias:
        try:
            return versions.get(model=model, aliases__name=alias)
        except ModelVersion.DoesNotExist:
            raise ModelVersion.DoesNotExist(
                f"Model '{model.name}' has no alias '{alias}'."
            ) from None
    chosen = (
        versions.filter(model=model, aliases__name=CHAMPION).first()
        or versions.filter(model=model, archived_at__isnull=True).order_by("-number").first()
    )
    if chosen is None:
        raise ModelVersion.DoesNotExist(f"Model '{model.name}' has no versions yet.")
    return chosen


def model_version_resolve(
    *, name: str, version: int | None = None, alias: str | None = None
) -> ModelVersion:
    """:func:`model_version_select` by model name."""
    return model_version_select(model=registered_model_get(name=name), version=version, alias=alias)


def model_version_list(*, model: RegisteredModel) -> QuerySet[ModelVersion]:
    return (
        ModelVersion.objects.filter(model=model)
        .select_related("created_by", "parent")
        .prefetch_related("aliases")
        .order_by("-number")
    )


def alias_map(*, model: RegisteredModel) -> dict[str, int]:
    """``{alias: version number}`` of one model."""
    return dict(
        Alias.objects.filter(model=model).values_list("name", "version__number").order_by("name")
    )


def headline_metric(task: str, metrics: dict[str, float] | None) -> tuple[str, float] | None:
    """The one number that sums a version up: ROC AUC (else accuracy) or R²."""
    keys = ("roc_auc", "accuracy") if task == "classification" else ("r2",)
    for key in keys:
        if metrics and key in metrics:
            return key, metrics[key]
    return None


def tag_list() -> list[str]:
    return list(
        Tag.objects.filter(models__archived_at__isnull=True)
        .distinct()
        .values_list("name", flat=True)
    )


def audit_events(*, model: RegisteredModel, limit: int = 20) -> QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(model=model)
        .select_related("actor", "version")
        .order_by("-created_at")[:limit]
    )


# Columns of a version that answering a prediction never reads.
NOT_FOR_PREDICTING = ("reference_sample", "evaluation", "params", "metrics", "notes")


def model_version_find(
    *, name: str, version: int | None = None, alias: str | None = None
) -> ModelVersion:
    """:func:`model_version_resolve` in one query (the API asks it on every prediction).

    The model and the version number, alias or champion are one join; only when nothing
    matches (or a model has no champion) does :func:`model_version_resolve` run, to fall
    back to the newest version or raise the error that says why. The large JSON columns a
    prediction does not read (reference sample, evaluation curves, parameters) are deferred:
    decoding them cost more than the prediction itself.
    """
    lookup: dict[str, Any] = {"model__name": name}
    if not version_number_storable(version):
        return model_version_resolve(name=name, version=version, alias=alias)  # raises
    if version is not None:
        lookup["number"] = version
    else:
        lookup["aliases__name"] = alias or CHAMPION
    try:
        return ModelVersion.objects.select_related("model").defer(*NOT_FOR_PREDICTING).get(**lookup)
    except ModelVersion.DoesNotExist:
        return model_version_resolve(name=name, version=version, alias=alias)


def model_version_parse(*, spec: str) -> ModelVersion:
    """The version that ``"name"``, ``"name@3"`` or ``"name@alias"`` names.

    Raises ``ValidationError`` for a malformed spec and ``DoesNotExist`` (with a message) for
    an unknown model, version or alias.
    """
    name, at, selector = str(spec).strip().partition("@")
    if not name or (at and not selector):
        raise ValidationError(f"{echo(spec)} is not a model: use name, name@version or name@alias.")
    if selector.isdecimal():
        if len(selector) > 9:
            raise ModelVersion.DoesNotExist(f"Model '{name}' has no version {selector}.")
        return model_version_find(name=name, version=int(selector))
    return model_version_find(name=name, alias=selector or None)
