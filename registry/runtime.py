"""A version's runtime: its interface, its estimator and what is derived from them, kept per
process in one cache keyed by (id, created_at, revision)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pandas as pd

from registry.artifacts.store import estimator_load
from registry.interface import Interface
from registry.models import (
    ModelVersion,
)

MAX_KEPT = 512
_kept: OrderedDict[tuple, Any] = OrderedDict()
_kept_lock = threading.Lock()


def version_key(version: ModelVersion) -> tuple:
    """What identifies a version's runtime: its id, its creation time (an id alone can come
    back after a rollback) and its revision (a manager may change what is actionable without
    a new version)."""
    return (version.pk, version.created_at, version.revision)


def version_cached(version: ModelVersion, what: str, build: Callable[[], Any]) -> Any:
    """What ``build`` makes of ``version`` (``what`` names it), built once per process.

    The one cache of what a version derives (its interface, explanation background, reference
    answers …): keyed by :func:`version_key`, so a revised version is built again, and the
    least recently used of ``MAX_KEPT`` entries goes first. The estimator itself is kept by
    the artifact's sha256 (``registry.artifacts.store``).
    """
    key = (*version_key(version), what)
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    built = build()
    with _kept_lock:
        _kept[key] = built
        while len(_kept) > MAX_KEPT:
            _kept.popitem(last=False)
    return built


def version_interface(version: ModelVersion) -> Interface:
    """The :class:`Interface` of a version, built once per process (per revision)."""
    return version_cached(version, "interface", lambda: Interface(version.interface))


def runtime_clear() -> None:
    """Forget every version's runtime (tests, and a process that must start afresh)."""
    with _kept_lock:
        _kept.clear()


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
