"""One shape for every error the API answers: ``{"error": {"code", "message", "fields"}}``.

``exception_handler`` is DRF's ``EXCEPTION_HANDLER``: it maps DRF's exceptions, Django's
``ValidationError`` (the registry's services raise those, ``InvalidInput`` with errors by row and
field, ``PayloadTooLarge``, ``ArtifactError``), ``ObjectDoesNotExist``/``Http404`` and oversized
requests to their status and code; SQLite's lock (``busy``) and a lost or refused database
connection (``unavailable``) to a 503 with Retry-After. Anything else is a bug: it is logged
with its traceback and answered 500 in the same shape, without the traceback.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import (
    ObjectDoesNotExist,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from portal.web.throttles import QuotaExceeded
from registry.conflicts import Conflict
from registry.database import database_unavailable
from registry.interface import InvalidInput
from registry.limits import PayloadTooLarge

logger = logging.getLogger("portal.api")

CODES = (
    "invalid_input",
    "not_authenticated",
    "permission_denied",
    "not_found",
    "method_not_allowed",
    "not_acceptable",
    "payload_too_large",
    "unsupported_media_type",
    "throttled",
    "quota_exceeded",
    "server_error",
    "busy",
    "unavailable",
    "conflict",
    "approval_required",
)


class RequestTooLarge(exceptions.APIException):
    """A request over a size limit, refused before it is read in full."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request is too large."


# DRF's exceptions that keep their own status, by the code they answer with.
_DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (QuotaExceeded, "quota_exceeded"),
    (exceptions.Throttled, "throttled"),
    (RequestTooLarge, "payload_too_large"),
    (exceptions.ParseError, "invalid_input"),
    (exceptions.ValidationError, "invalid_input"),
]


@dataclass
class ApiError:
    status: int
    code: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


def _plain(detail: Any) -> Any:
    """DRF's error details (``ErrorDetail``, lazy strings) as plain JSON."""
    if isinstance(detail, Mapping):
        return {str(key): _plain(value) for key, value in detail.items()}
    if isinstance(detail, list | tuple):
        return [_plain(value) for value in detail]
    return str(detail)


def _first_message(detail: Any, path: str = "") -> str | None:
    """The first message in nested errors, prefixed with where it is ("inputs.0: …")."""
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            key = str(key)
            found = _first_message(
                value, f"{path}.{key}" if path else ("" if key == "non_field_errors" else key)
            )
            if found:
                return found
        return None
    if isinstance(detail, list | tuple):
        for index, value in enumerate(detail):
            nested = isinstance(value, Mapping | list | tuple)
            found = _first_message(value, f"{path}.{index}" if nested and path else path)
            if found:
                return found
        return None
    return f"{path}: {detail}" if path else str(detail)


def _as_fields(detail: Any) -> dict[str, Any]:
    plain = _plain(detail)
    return plain if isinstance(plain, dict) else {"non_field_errors": plain}


def _from_django_validation(exc: DjangoValidationError, status_code: int, code: str) -> ApiError:
    if isinstance(exc, InvalidInput):
        return ApiError(status_code, code, exc.summary(), exc.as_fields())
    if hasattr(exc, "error_dict"):
        fields = {name: list(messages) for name, messages in exc.message_dict.items()}
        message = _first_message({k: v for k, v in fields.items() if k != "__all__"} or fields)
        return ApiError(status_code, code, message or "Invalid input.", fields)
    messages = list(exc.messages)
    return ApiError(status_code, code, messages[0] if messages else "Invalid input.")


BUSY_RETRY_AFTER = 5  # seconds


def database_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "database is locked": a wait, not a bug (a 503 to retry)."""
    return isinstance(exc, OperationalError) and any(
        word in str(exc).lower() for word in ("database is locked", "database table is locked")
    )


UNAVAILABLE_RETRY_AFTER = 5  # seconds: about what a PostgreSQL restart takes


def unavailable() -> ApiError:
    """A lost or refused database connection: a 503 to retry, not a bug."""
    return ApiError(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        "unavailable",
        "The database cannot be reached just now; try again in a few seconds.",
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
    )


def describe(exc: BaseException) -> ApiError | None:
    """The status, code, message and fields an exception is answered with; None for a bug."""
    if isinstance(exc, PayloadTooLarge):
        return _from_django_validation(
            exc, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "payload_too_large"
        )
    if isinstance(exc, Conflict):
        return _from_django_validation(exc, status.HTTP_409_CONFLICT, exc.error_code)
    if isinstance(exc, DjangoValidationError):
        return _from_django_validation(exc, status.HTTP_400_BAD_REQUEST, "invalid_input")
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return ApiError(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            "payload_too_large",
            f"The request is too large: {exc}",
        )
    if isinstance(exc, SuspiciousOperation):
        return ApiError(status.HTTP_400_BAD_REQUEST, "invalid_input", "The request was refused.")
    if database_busy(exc):
        return ApiError(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "busy",
            "The database is busy with another write; try again in a few seconds.",
            headers={"Retry-After": str(BUSY_RETRY_AFTER)},
        )
    if database_unavailable(exc):
        logger.warning("Database unavailable: %s", str(exc).strip()[:200])
        return unavailable()
    if isinstance(exc, ObjectDoesNotExist | Http404):
        return ApiError(status.HTTP_404_NOT_FOUND, "not_found", str(exc) or "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        return ApiError(
            status.HTTP_403_FORBIDDEN,
            "permission_denied",
            str(exc) or "You do not have permission to do this.",
        )
    if isinstance(exc, exceptions.APIException):
        code = next((c for kind, c in _DRF_CODES if isinstance(exc, kind)), None)
        code = code or str(exc.default_code)
        error = ApiError(exc.status_code, code, _first_message(exc.detail) or code)
        if isinstance(exc, exceptions.ValidationError):
            error.fields = _as_fields(exc.detail)
        if getattr(exc, "auth_header", None):
            error.headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            error.headers["Retry-After"] = str(math.ceil(exc.wait))
        return error
    return None


SERVER_ERROR = ApiError(
    status.HTTP_500_INTERNAL_SERVER_ERROR,
    "server_error",
    "Something went wrong on our side; it has been logged.",
)


def exception_handler(exc: BaseException, context: Mapping[str, Any]) -> Response:
    """DRF's exception handler for the whole API (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``)."""
    # Imported here: rest_framework.views loads the parsers, which import this module.
    from rest_framework.views import set_rollback

    error = describe(exc)
    if error is None:
        view = context.get("view")
        logger.error(
            "Unexpected error in %s", type(view).__name__ if view else "the API", exc_info=exc
        )
        error = SERVER_ERROR
    set_rollback()
    return Response(error.body(), status=error.status, headers=error.headers)


@csrf_exempt  # answers every method with 404; a CSRF refusal would be an HTML page
def not_found(request, *args, **kwargs) -> JsonResponse:
    """Any path under /api/ that names no endpoint: a 404 in the API's shape, not a page."""
    error = ApiError(status.HTTP_404_NOT_FOUND, "not_found", f"No endpoint at {request.path}.")
    return JsonResponse(error.body(), status=error.status)
