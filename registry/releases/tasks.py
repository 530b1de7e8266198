"""Background work of a release: the shadow answering what the champion answered, and the
canary checked against the champion. Both run on the task worker, never on a caller's path.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.tasks import task
from django.utils import timezone

from registry.catalog.selectors import CHAMPION
from registry.events.services import event_publish
from registry.models import Alias, Canary, Prediction, Shadow, ShadowAnswer, Source
from registry.predict.services import prediction_run
from registry.releases import stats
from registry.releases.selectors import ANSWERING, canary_counts, shadow_report
from registry.releases.services import canary_end

log = logging.getLogger(__name__)

SWEEP_BATCH = 200
# Answers younger than this are left to the next sweep: one stored inside a transaction that
# has not committed yet must not be passed over (a backend that cannot defer runs tasks at
# once, after the commit: no wait there).
SETTLE_SECONDS = 1.0
MAX_DIFFERENCES = 1000


def _settle() -> float:
    return SETTLE_SECONDS if shadow_sweep.get_backend().supports_defer else 0.0


def _sampled(prediction: Prediction, share: float) -> bool:
    """Whether an answer is in the shadow's share (decided by its id: the same every time)."""
    return share >= 1 or prediction.pk.int % 10_000 < share * 10_000


def _compare(
    champion: list[dict[str, Any]], shadow: list[dict[str, Any]], classifier: bool
) -> tuple[int, int, list[float]]:
    rows = min(len(champion), len(shadow))
    if classifier:
        agreed = sum(1 for a, b in zip(champion, shadow, strict=False) if a["label"] == b["label"])
        return rows, agreed, []
    differences = [
        round(abs(float(a["value"]) - float(b["value"])), 9)
        for a, b in zip(champion[:MAX_DIFFERENCES], shadow[:MAX_DIFFERENCES], strict=False)
    ]
    return rows, 0, differences


def shadow_answer(*, shadow: Shadow, champion: Prediction) -> ShadowAnswer | None:
    """Answer one champion answer's rows with the shadow version, stored (source ``shadow``)
    and linked; None when another worker did it first."""
    classifier = shadow.model.task == "classification"
    try:
        with transaction.atomic():
            if not _sampled(champion, shadow.share):
                return ShadowAnswer.objects.create(shadow=shadow, champion=champion, sampled=False)
            try:
                answer = prediction_run(
                    version=shadow.version,
                    rows=champion.inputs,
                    user=champion.user,
                    source=Source.SHADOW,
                )
            except ValidationError as exc:
                return ShadowAnswer.objects.create(
                    shadow=shadow, champion=champion, error=" ".join(exc.messages)[:300]
                )
            rows, agreed, differences = _compare(champion.outputs, answer.predictions, classifier)
            return ShadowAnswer.objects.create(
                shadow=shadow,
                champion=champion,
                answer=answer.prediction,
                rows=rows,
                agreed=agreed,
                differences=differences,
            )
    except IntegrityError:  # another sweep shadowed it first; this one's answer is undone
        return None


@task()
def shadow_sweep(shadow_id: int) -> None:
    """Shadow every champion answer since the shadow started that has not been yet, then
    publish ``shadow.verdict`` if the verdict changed."""
    live = Shadow.objects.select_related("model", "version").filter(ended_at=None)
    shadow = live.filter(pk=shadow_id).first()
    if shadow is None:
        return
    champion_id = (
        Alias.objects.filter(model_id=shadow.model_id, name=CHAMPION)
        .values_list("version_id", flat=True)
        .first()
    )
    if champion_id is None:
        return
    cutoff = timezone.now() - dt.timedelta(seconds=_settle())
    waiting = Prediction.objects.filter(
        version_id=champion_id,
        source__in=ANSWERING,
        created_at__gte=shadow.since,
        shadowed__isnull=True,
    ).select_related("user")
    while True:
        batch = list(waiting.filter(created_at__lte=cutoff).order_by("created_at")[:SWEEP_BATCH])
        for champion in batch:
            shadow_answer(shadow=shadow, champion=champion)
        if len(batch) < SWEEP_BATCH:
            break
    if waiting.filter(created_at__gt=cutoff).exists():
        later = timezone.now() + dt.timedelta(seconds=_settle())
        shadow_sweep.using(run_after=later).enqueue(shadow_id)
    _verdict_publish(shadow)


def _verdict_publish(shadow: Shadow) -> None:
    """Publish ``shadow.verdict`` when the verdict differs from the last one published."""
    report = shadow_report(shadow=shadow)
    last = Shadow.objects.filter(pk=shadow.pk).values_list("summary", flat=True).first() or {}
    if report["verdict"] == last.get("verdict"):
        return
    with transaction.atomic():
        Shadow.objects.filter(pk=shadow.pk).update(summary={**last, "verdict": report["verdict"]})
        if report["verdict"] != stats.NOT_ENOUGH:
            event_publish(
                event="shadow.verdict",
                model=shadow.model,
                version=shadow.version,
                data={
                    "verdict": report["verdict"],
                    "compared": report["compared"],
                    "performance": report["performance"],
                },
            )


@task()
def canary_check(canary_id: int) -> None:
    """End a live canary that fails more often than the champion or whose feedback shows it
    significantly worse (``registry.releases.stats.canary_reason``)."""
    canary = Canary.objects.select_related("model", "version").filter(pk=canary_id).first()
    if canary is None or canary.ended_at is not None:
        return
    reason = stats.canary_reason(canary_counts(canary=canary))
    if reason is not None:
        canary_end(canary=canary, reason=f"ended itself: {reason}")
        log.warning("canary %s of %s ended: %s", canary.pk, canary.model.name, reason)
