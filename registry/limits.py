"""Limits every face applies to a call before it builds a row: how many rows, how many bytes."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError


class PayloadTooLarge(ValidationError):
    """More rows (or bytes) than a setting allows in one call."""


def rows_limit_check(count: int) -> None:
    """Refuse more rows than one call may carry (``MAX_ROWS_PER_CALL``).

    Every face calls it with the count its request declares, before it builds a row.
    """
    limit = settings.PORTAL["MAX_ROWS_PER_CALL"]
    if count > limit:
        raise PayloadTooLarge({"inputs": [f"Send at most {limit:,} rows in one call."]})
