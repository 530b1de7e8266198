"""Calls that arrive while a model is busy are answered together, in one call into the model.

A scikit-learn model spends most of a small call on work done once per call, not per row:
checking its input, and for a forest, a Python call per tree. The demo's random forest
answers eight rows in the time it takes for one (``bench/api_http.py --model wine``). So
calls to one estimator that arrive while it is answering wait for it and are answered
together in its next round, as one batch: the "dynamic batching" of Triton and MLServer,
without their timer. A call that finds the model idle is answered at once, alone; nothing
waits on the chance that another call might come.

Each call gets what it would get alone:

- the same answers: a model answers each row on its own. A forest's answers are bit for bit
  the same; a linear model's matrix product over several rows may round the last bit of a
  double differently (a relative 1e-16, far below the 6 decimals an answer is given in);
- its own errors: a row whose answer is not finite is refused in its own call only, and if
  the model raises on the batch, every call in it is answered again alone, so the error
  goes to the call that caused it.

There is no thread of its own: the first caller to find the model idle leads a round (its
own call and any that wait), then hands the lead to the first call still waiting.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from registry.inference import Scores, finite_check, score, score_unchecked
from registry.interface import Interface, InvalidInput, Validated

# Calls with more rows than this are already batches: they are answered alone, at once.
MAX_ROWS_PER_CALL = 16
# A round answers at most this many rows; the calls left over wait for the next round.
MAX_ROWS_PER_ROUND = 256


@dataclass(eq=False)
class _Call:
    validated: Validated
    size: int
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to lead the next round, not with an answer
    scores: Scores | None = None
    error: BaseException | None = None

    def outcome(self) -> Scores:
        if self.error is not None:
            raise self.error
        return self.scores


class _Line:
    """The calls waiting for one estimator, and whether a round is under way."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting: deque[_Call] = deque()
        self.busy = False


_lines: weakref.WeakKeyDictionary[Any, _Line] = weakref.WeakKeyDictionary()
_lines_lock = threading.Lock()


def _line_of(estimator: Any) -> _Line | None:
    try:
        line = _lines.get(estimator)
        if line is None:
            with _lines_lock:
                line = _lines.setdefault(estimator, _Line())
    except TypeError:  # an estimator that cannot be weakly referenced is answered alone
        return None
    return line


def score_coalesced(estimator: Any, validated: Validated, interface: Interface) -> Scores:
    """:func:`registry.inference.score` of ``validated``, in one batch with any concurrent
    calls to the same estimator. Raises what ``score`` would raise for these rows alone."""
    size = len(validated.rows)
    line = _line_of(estimator) if size <= MAX_ROWS_PER_CALL else None
    if line is None:
        return score(estimator, validated, interface)
    call = _Call(validated=validated, size=size)
    with line.lock:
        line.waiting.append(call)
        leading = not line.busy
        line.busy = True
    if not leading:
        call.done.wait()
        if not call.lead:
            return call.outcome()
    # This call is first in line (an idle model's line is empty), so the round answers it.
    try:
        _round(line, estimator, interface)
    finally:
        with line.lock:
            if line.waiting:
                successor = line.waiting[0]
                successor.lead = True
                successor.done.set()
            else:
                line.busy = False
    return call.outcome()


def _round(line: _Line, estimator: Any, interface: Interface) -> None:
    with line.lock:
        calls = [line.waiting.popleft()]
        rows = calls[0].size
        while line.waiting and rows + line.waiting[0].size <= MAX_ROWS_PER_ROUND:
            calls.append(line.waiting.popleft())
            rows += calls[-1].size
    try:
        _answer(calls, estimator, interface)
    except BaseException as exc:  # the worker is stopping: no call may wait for ever
        for call in calls:
            call.error = call.error or exc
        raise
    finally:
        for call in calls:
            call.done.set()


def _answer(calls: list[_Call], estimator: Any, interface: Interface) -> None:
    """Set each call's scores, or its error."""
    if len(calls) > 1:
        try:
            together = score_unchecked(estimator, _joined(calls), interface)
        except Exception:  # one call's rows may be at fault: answer each alone, below
            pass
        else:
            start = 0
            for call in calls:
                part = together.rows(start, start + call.size)
                start += call.size
                try:
                    finite_check(part)
                except InvalidInput as exc:
                    call.error = exc
                else:
                    call.scores = part
            return
    for call in calls:
        try:
            call.scores = score(estimator, call.validated, interface)
        except Exception as exc:
            call.error = exc


def _joined(calls: list[_Call]) -> Validated:
    """The calls' rows, in order, as one :class:`Validated`."""
    blocks = [call.validated.block for call in calls]
    return Validated(
        build=lambda: pd.concat([call.validated.frame for call in calls], ignore_index=True),
        rows=[row for call in calls for row in call.validated.rows],
        block=np.concatenate(blocks) if all(b is not None for b in blocks) else None,
    )
