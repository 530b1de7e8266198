"""Reads of stored answers and usage. None writes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from registry import roles
from registry.inference import sweep
from registry.models import (
    ModelVersion,
    Prediction,
)
from registry.runtime import version_estimator, version_interface


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


def prediction_by_id(*, id: Any) -> Prediction:
    """A prediction by id alone, for a holder of its signed share link."""
    try:
        return Prediction.objects.select_related("version__model").get(pk=id)
    except (Prediction.DoesNotExist, ValueError, ValidationError):
        raise Prediction.DoesNotExist(f"No prediction {id}.") from None


def prediction_curves(*, prediction: Prediction, points: int = 25) -> list[dict[str, Any]]:
    """Sensitivity curves of a stored one-row prediction, recomputed from its inputs."""
    interface = version_interface(prediction.version)
    frame = interface.validate(prediction.inputs[:1]).frame
    return sweep(version_estimator(prediction.version), interface, frame, points=points)


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
