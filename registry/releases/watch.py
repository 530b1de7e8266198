"""The release's hook on stored answers (``registry.predict.hooks``): when a champion answer
is stored and the model has a shadow, or a canary or champion answer and the model has a
canary, the task worker is woken to do the rest.

On the caller's path this costs a look in this process's memory: what each model's release is
(champion, shadow, canary) is read from the database, in one query, at most every
``FRESH_SECONDS`` per process (a shadow started is seen within that), and the worker is woken
at most every ``WAKE_SECONDS`` per shadow or canary (each wake covers every answer stored
before it runs). Which version answers a call, the canary or not, is decided per call at the
door (``registry.predict.serving``), never from here.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from registry.catalog.selectors import CHAMPION
from registry.models import Alias, Canary, Prediction, RegisteredModel, Shadow
from registry.releases.selectors import ANSWERING
from registry.releases.tasks import canary_check, shadow_sweep

FRESH_SECONDS = 5.0
WAKE_SECONDS = 0.5


@dataclass(frozen=True)
class Live:
    champion_id: int | None
    shadow_id: int | None
    canary_id: int | None
    canary_version_id: int | None


_live: dict[int, tuple[float, Live]] = {}
_woken: dict[tuple[str, int], float] = {}
_lock = threading.Lock()


def _release_of(model_id: int) -> Live:
    now = time.monotonic()
    with _lock:
        kept = _live.get(model_id)
    if kept is not None and now - kept[0] < FRESH_SECONDS:
        return kept[1]
    canary = Canary.objects.filter(model=OuterRef("pk"), ended_at=None)
    found = (
        RegisteredModel.objects.filter(pk=model_id)
        .values_list(
            Subquery(
                Alias.objects.filter(model=OuterRef("pk"), name=CHAMPION).values("version_id")
            ),
            Subquery(Shadow.objects.filter(model=OuterRef("pk"), ended_at=None).values("pk")),
            Subquery(canary.values("pk")),
            Subquery(canary.values("version_id")),
        )
        .first()
    )
    live = Live(*(found or (None, None, None, None)))
    with _lock:
        _live[model_id] = (now, live)
    return live


def _wake(kind: str, pk: int, task) -> None:
    if not task.get_backend().supports_defer:
        # A backend that runs tasks at once (tests, a single process): no worker to spare.
        transaction.on_commit(lambda: task.enqueue(pk))
        return
    now = time.monotonic()
    with _lock:
        if now - _woken.get((kind, pk), -1e9) < WAKE_SECONDS:
            return
        _woken[(kind, pk)] = now
    later = timezone.now() + dt.timedelta(seconds=WAKE_SECONDS)
    transaction.on_commit(lambda: task.using(run_after=later).enqueue(pk))


def release_answer_hook(prediction: Prediction) -> None:
    """Wake the shadow's sweep or the canary's check for a stored answer, if there is one."""
    if prediction.source not in ANSWERING:
        return
    live = _release_of(prediction.version.model_id)
    if live.shadow_id is not None and prediction.version_id == live.champion_id:
        _wake("shadow", live.shadow_id, shadow_sweep)
    if live.canary_id is not None and prediction.version_id in (
        live.canary_version_id,
        live.champion_id,
    ):
        _wake("canary", live.canary_id, canary_check)


def release_watch_reset() -> None:
    """Forget what this process knows of releases (a change made here is seen at once)."""
    with _lock:
        _live.clear()
        _woken.clear()
