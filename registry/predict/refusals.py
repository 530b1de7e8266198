"""Why calls are refused, counted per input and reason for monitoring's data quality.

A refused call stores nothing; :func:`refusal_count` keeps, per UTC day, how many refused
calls each (input, reason) pair concerned. Reasons are few and fixed, so the table stays
small whatever callers send.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from registry.interface import InvalidInput
from registry.limits import PayloadTooLarge
from registry.models import ModelVersion, Refusal

CALL = "(call)"
REASONS = (
    "missing",
    "wrong_type",
    "not_finite",
    "outside_limits",
    "unseen_category",
    "unknown_field",
    "malformed",
    "too_many_rows",
    "model_error",
)


def _reason(message: str) -> str:
    """The reason of one of :class:`registry.interface.InputField`'s messages."""
    if message.startswith(("This field is required", "This column is missing")):
        return "missing"
    if message.startswith("Select a valid choice"):
        return "unseen_category"
    if message.startswith("Ensure this value is at"):
        return "outside_limits"
    if message.startswith("Enter a finite number"):
        return "not_finite"
    if message.startswith("Unknown field"):
        return "unknown_field"
    return "wrong_type"


def refusal_reasons(exc: ValidationError, inputs: Collection[str]) -> set[tuple[str, str]]:
    """The (input, reason) pairs a refusal concerns; input is "(call)" for the call as a
    whole (too many rows, rows that are not objects, a field the interface lacks, a model
    that could not answer)."""
    if isinstance(exc, PayloadTooLarge):
        return {(CALL, "too_many_rows")}
    if not isinstance(exc, InvalidInput):
        return {(CALL, "model_error")}
    found = set()
    for fields in exc.row_errors.values():
        for name, messages in fields.items():
            for message in messages:
                reason = _reason(str(message))
                if name in inputs and reason != "unknown_field":
                    found.add((name, reason))
                else:
                    found.add((CALL, "unknown_field" if name not in ("inputs",) else "malformed"))
    return found or {(CALL, "malformed")}


def refusal_count(
    *, version: ModelVersion, source: str, exc: ValidationError, inputs: Collection[str]
) -> None:
    """Count one refused call under each (input, reason) it concerns, for today (UTC)."""
    day: dt.date = timezone.now().astimezone(dt.UTC).date()
    for name, reason in refusal_reasons(exc, inputs):
        key = {"version": version, "day": day, "source": source, "input": name, "reason": reason}
        found = Refusal.objects.filter(**key)
        if found.update(count=F("count") + 1):
            continue
        try:
            with transaction.atomic():
                Refusal.objects.create(**key, count=1)
        except IntegrityError:
            found.update(count=F("count") + 1)
