"""What other capabilities do once an answer is stored, without the answering path knowing
them: a capability above ``predict`` (releases) registers a function here when the app
starts, and :func:`answer_stored` calls each one. A hook must be quick (it runs on the
caller's path) and hand any real work to the task worker."""

from __future__ import annotations

import logging
from collections.abc import Callable

from registry.models import Prediction

log = logging.getLogger(__name__)

_hooks: list[Callable[[Prediction], None]] = []


def answer_hook_add(hook: Callable[[Prediction], None]) -> None:
    """Call ``hook(prediction)`` after each stored answer (once, however often added)."""
    if hook not in _hooks:
        _hooks.append(hook)


def answer_stored(prediction: Prediction) -> None:
    """Tell every hook of a stored answer; a hook that fails never fails the answer."""
    for hook in _hooks:
        try:
            hook(prediction)
        except Exception:  # the caller's answer stands; the failure is a bug to see in the log
            log.exception("answer hook %s failed", getattr(hook, "__qualname__", hook))
