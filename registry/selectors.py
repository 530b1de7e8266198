"""Reads of the registry. Each returns models or querysets; none writes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from collections import OrderedDict
from typing import Any

import pandas as pd
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db.models import Count, Max, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from registry import roles
from registry.artifacts import estimator_load
from registry.counterfactuals import (
    MARGIN_POINTS,
    Search,
    counterfactual_target,
    counterfactuals_find,
)
from registry.explanations import (
    Background,
    Explanation,
    background_cached,
    explain,
    explanation_background,
)
from registry.inference import sweep
from registry.interface import Interface, InvalidInput, echo
from registry.models import (
    Alias,
    AuditEvent,
    BatchJob,
    ModelVersion,
    Prediction,
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


def usage_by_day(
    *, user: User | AnonymousUser, days: int = 14
) -> tuple[list[str], dict[str, list[tuple[str, int]]]]:
    """Stored predictions per model and day over the last ``days`` days, of those the user
    may see (:func:`prediction_list`). Returns the ISO days and
    ``{model: [(day, count), ...]}``.

    "Use" means a stored answer, the same records the prediction history lists: an API call,
    a batch job, a saved what-if scenario or comparison (one each, whatever its rows). A
    what-if page redrawing as someone moves a slider stores nothing and is not counted.
    """
    today = timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    starts = [_day_start(first + dt.timedelta(days=i)) for i in range(days + 1)]
    # One pass over the period's rows on the (version, created_at) index, a count per day by
    # comparison (TruncDate would call a function per stored row: seconds at a million).
    per_day = {
        f"d{i}": Count("id", filter=Q(created_at__gte=starts[i], created_at__lt=starts[i + 1]))
        for i in range(days)
    }
    stored = (
        prediction_list(user=user)
        .filter(created_at__gte=starts[0])
        .order_by()
        .values("version__model__name")
        .annotate(**per_day)
    )
    totals: dict[str, dict[str, int]] = {}
    for item in stored:
        per_model = totals.setdefault(item["version__model__name"], {})
        for i in range(days):
            if item[f"d{i}"]:
                day = (first + dt.timedelta(days=i)).isoformat()
                per_model[day] = per_model.get(day, 0) + item[f"d{i}"]
    day_list = [(first + dt.timedelta(days=i)).isoformat() for i in range(days)]
    return day_list, {name: sorted(counts.items()) for name, counts in sorted(totals.items())}


def _day_start(day: dt.date) -> dt.datetime:
    """The first instant of a local day, so a period filters on ``created_at`` as it is
    indexed (``created_at__date`` computes a date for every stored row first)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def model_use(*, user: User | AnonymousUser, days: int = 14) -> dict[str, dict[str, Any]]:
    """``{model name: {"recent": predictions in the last days, "last": newest time}}`` over
    the predictions the user may see: the same count as :func:`usage_by_day`.

    Two index-backed queries, whatever the number of stored predictions: the recent count per
    version over the period's rows only, and each version's newest answer by one seek.
    """
    since = _day_start(timezone.localdate() - dt.timedelta(days=days - 1))
    visible = prediction_list(user=user).order_by()
    recent = (
        visible.filter(created_at__gte=since)
        .values("version_id")
        .annotate(n=Count("id"))
        .values_list("version_id", "n")
    )
    newest = visible.filter(version=OuterRef("pk")).order_by("-created_at").values("created_at")
    use: dict[str, dict[str, Any]] = {}
    counts = dict(recent)
    for pk, name, last in ModelVersion.objects.annotate(last=Subquery(newest[:1])).values_list(
        "pk", "model__name", "last"
    ):
        if last is None:
            continue
        found = use.setdefault(name, {"recent": 0, "last": last})
        found["recent"] += counts.get(pk, 0)
        found["last"] = max(found["last"], last)
    return use


def tag_list() -> list[str]:
    return list(
        Tag.objects.filter(models__archived_at__isnull=True)
        .distinct()
        .values_list("name", flat=True)
    )


def prediction_by_id(*, id: Any) -> Prediction:
    """A prediction by id alone, for a holder of its signed share link."""
    try:
        return Prediction.objects.select_related("version__model").get(pk=id)
    except (Prediction.DoesNotExist, ValueError, ValidationError):
        raise Prediction.DoesNotExist(f"No prediction {id}.") from None


def audit_events(*, model: RegisteredModel, limit: int = 20) -> QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(model=model)
        .select_related("actor", "version")
        .order_by("-created_at")[:limit]
    )


def prediction_curves(*, prediction: Prediction, points: int = 25) -> list[dict[str, Any]]:
    """Sensitivity curves of a stored one-row prediction, recomputed from its inputs."""
    interface = version_interface(prediction.version)
    frame = interface.validate(prediction.inputs[:1]).frame
    return sweep(version_estimator(prediction.version), interface, frame, points=points)


# Interfaces and estimators of versions never change, so each process keeps them.
_interfaces: OrderedDict[tuple, Interface] = OrderedDict()
_interfaces_lock = threading.Lock()


def version_interface(version: ModelVersion) -> Interface:
    """The :class:`Interface` of a version, built once per process."""
    # The key includes the creation time: a primary key alone can come back after a rollback.
    # A manager may change what is actionable without a new version, so that is in it too.
    key = (version.pk, version.created_at, _actionability(version.interface))
    with _interfaces_lock:
        found = _interfaces.get(key)
        if found is not None:
            return found
    built = Interface(version.interface)
    with _interfaces_lock:
        _interfaces[key] = built
        while len(_interfaces) > 256:
            _interfaces.popitem(last=False)
    return built


def _actionability(spec: dict[str, Any]) -> tuple:
    return tuple(
        (item.get("actionable", True), item.get("direction", "any")) for item in spec["inputs"]
    )


def version_estimator(version: ModelVersion) -> Any:
    """The loaded estimator of a version, from this process's cache when it can."""
    estimator = estimator_load(path=version.artifact, sha256=version.artifact_sha256)
    labelled = getattr(estimator, "labelled", None)  # a native booster: its class labels
    if labelled is not None:
        return labelled((version.interface.get("output") or {}).get("classes"))
    return estimator


def version_method(version: ModelVersion) -> tuple[str, int]:
    """What kind of model a version is: the class of the estimator that answers (a
    pipeline's last step) and how many preparation steps come before it."""
    if not version.estimator_class.endswith(".Pipeline"):
        return version.estimator_class, 0
    try:
        steps = version_estimator(version).steps
    except Exception:  # an unreadable artifact still has a card; say what is recorded
        return version.estimator_class, 0
    final = type(steps[-1][1])
    return f"{final.__module__}.{final.__qualname__}", len(steps) - 1


def reference_frame(version: ModelVersion) -> pd.DataFrame:
    """The version's stored reference sample as a DataFrame (inputs and, if known, target)."""
    return pd.DataFrame.from_records(version.reference_sample)


def prediction_list(
    *,
    user: User | AnonymousUser,
    model: str | None = None,
    version: int | None = None,
    source: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[Prediction]:
    """Stored predictions, newest first: the user's own, or everyone's for a manager;
    ``since`` is inclusive, ``until`` exclusive."""
    qs = Prediction.objects.select_related("version__model", "user", "job")
    if not roles.has_role(user, roles.MANAGER):
        qs = qs.filter(user=user)
    if model:
        qs = qs.filter(version__model__name=model)
    if version is not None:
        qs = qs.filter(version__number=version)
    if source:
        qs = qs.filter(source=source)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    return qs.order_by("-created_at")


def prediction_get(*, user: User | AnonymousUser, id: Any) -> Prediction:
    """One prediction the user may see; raises ``Prediction.DoesNotExist`` otherwise."""
    try:
        return prediction_list(user=user).get(pk=id)
    except (Prediction.DoesNotExist, ValueError, ValidationError):
        raise Prediction.DoesNotExist(f"No prediction {id} is visible to you.") from None


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


def batch_job_list(*, user: User | AnonymousUser, model: str | None = None) -> QuerySet[BatchJob]:
    """Batch jobs, newest first: the user's own, or everyone's for a manager."""
    qs = BatchJob.objects.select_related("version__model", "user")
    if not roles.has_role(user, roles.MANAGER):
        qs = qs.filter(user=user)
    if model:
        qs = qs.filter(version__model__name=model)
    return qs.order_by("-created_at")


def batch_job_get(*, user: User | AnonymousUser, id: Any) -> BatchJob:
    """One job the user may see; raises ``BatchJob.DoesNotExist`` otherwise."""
    try:
        return batch_job_list(user=user).get(pk=id)
    except (BatchJob.DoesNotExist, ValueError, ValidationError):
        raise BatchJob.DoesNotExist(f"No batch job {id} is visible to you.") from None


def batch_result_head(*, job: BatchJob, rows: int = 20) -> tuple[list[str], list[list[str]]]:
    """The header and first rows of a finished job's result file, for a preview table."""
    if not job.output_file:
        return [], []
    with default_storage.open(job.output_file, "rb") as handle:
        lines = [handle.readline() for _ in range(rows + 1)]
    reader = csv.reader(io.StringIO(b"".join(lines).decode("utf-8-sig")))
    table = list(reader)
    return (table[0], table[1:]) if table else ([], [])


# ---------------------------------------------------------------- why, and what would it take
def version_background(version: ModelVersion) -> Background:
    """The version's explanation background (reference rows and answers), once per process."""
    return background_cached(
        ("background", version.pk, version.created_at),
        lambda: explanation_background(
            estimator=version_estimator(version),
            interface=version_interface(version),
            reference=version.reference_sample,
        ),
    )


def version_reference_inputs(version: ModelVersion) -> pd.DataFrame | None:
    """The version's reference rows as typed inputs (for spreads), once per process."""
    interface = version_interface(version)

    def build() -> pd.DataFrame:
        records = [{n: r.get(n) for n in interface.names} for r in version.reference_sample]
        if not records:
            return pd.DataFrame(columns=interface.names)
        return interface.validate_frame(pd.DataFrame(records)).frame

    frame = background_cached(("reference", version.pk, version.created_at), build)
    return frame if len(frame) else None


def explanation_build(
    *, version: ModelVersion, row: dict[str, Any], target_class: Any = None
) -> Explanation:
    """Explain one row's answer from ``version`` (validated first; nothing is stored).

    Raises ``InvalidInput`` naming the bad field, or ``ValidationError`` for an unknown class.
    """
    interface = version_interface(version)
    frame = _one_row(interface, row)
    return explain(
        estimator=version_estimator(version),
        interface=interface,
        row=frame,
        background=version_background(version),
        target_class=target_class,
    )


def counterfactual_search(
    *,
    version: ModelVersion,
    row: dict[str, Any],
    target: Any,
    fixed: list[str] | None = None,
    max_changes: int = 2,
    count: int = 3,
    margin: float = MARGIN_POINTS,
) -> Search:
    """What would it take for ``row`` to get ``target`` (a class, or ``{"min", "max"}``),
    clearly: by ``margin`` points (see ``registry.counterfactuals.Target.needed``)."""
    interface = version_interface(version)
    frame = _one_row(interface, row)
    return counterfactuals_find(
        estimator=version_estimator(version),
        interface=interface,
        row=frame,
        target=counterfactual_target(interface=interface, target=target, margin=margin),
        reference=version_reference_inputs(version),
        fixed=fixed or [],
        max_changes=max_changes,
        count=count,
    )


def _one_row(interface: Interface, row: Any) -> pd.DataFrame:
    if not isinstance(row, dict):
        raise InvalidInput({0: {"inputs": ["Send one row: an object of input: value."]}})
    return interface.validate([row]).frame


def prediction_explanation(*, prediction: Prediction) -> Explanation | None:
    """The explanation of a stored one-row answer (of the class it gave), or None when there
    is none to give: several rows, a labels-only model, or no reference rows."""
    if prediction.row_count != 1 or not prediction.inputs:
        return None
    return answer_explanation(version=prediction.version, row=prediction.inputs[0])


def answer_explanation(*, version: ModelVersion, row: dict[str, Any]) -> Explanation | None:
    """The explanation of one row's answer, or None when the version cannot give one (a
    labels-only model, no reference rows): a page then shows the answer without it."""
    try:
        return explanation_build(version=version, row=row)
    except ValidationError:
        return None
