"""A version's runtime: its interface and its estimator, kept per process."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import pandas as pd

from registry.artifacts.store import estimator_load
from registry.interface import Interface
from registry.models import (
    ModelVersion,
)

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
    return estimator_load(path=version.artifact, sha256=version.artifact_sha256)


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
