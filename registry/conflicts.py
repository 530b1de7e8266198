"""A request well formed but at odds with the state it meets: every face answers it 409."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class Conflict(ValidationError):
    """Refused because of the current state (a pending request, a rule of the model), with a
    code a client can act on (``approval_required``, ``conflict`` …)."""

    def __init__(self, message, *, code: str = "conflict"):
        super().__init__(message)
        self.error_code = code
