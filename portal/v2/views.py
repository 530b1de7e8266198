"""Open Inference Protocol (v2) REST endpoints: health, metadata, readiness and infer.

Plain Django views: the protocol's clients send no ``Content-Type`` (tritonclient) or a binary
body (Triton's binary tensor extension), and expect ``{"error": "…"}``, not the v1 error shape.
Authentication, roles, the rate limit, choosing the version, validation, scoring and storing
are the v1 API's own: the same functions, called from here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import AuthenticationFailed

from portal.v2 import tensors
from portal.web.auth import token_key, token_user
from portal.web.errors import describe, unavailable
from portal.web.throttles import ModelCallThrottle, RowBudget, rows_sent
from registry import roles
from registry.database import database_state
from registry.interface import InvalidInput
from registry.models import ModelVersion, Source
from registry.predict.services import prediction_run
from registry.predict.serving import served_version_find
from registry.runtime import version_interface

logger = logging.getLogger("portal.v2")

SERVER = {"name": "model-portal", "version": "1", "extensions": ["binary_tensor_data"]}


class Refusal(Exception):
    """An answer other than 200: a status and the message for ``{"error": …}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def _caller(request: HttpRequest, role: str):
    try:
        key = token_key(request.headers.get("Authorization", "").encode("latin-1"))
        if key is None:
            raise AuthenticationFailed("Send Authorization: Token <key> (or Bearer <key>).")
        user = token_user(key)
    except AuthenticationFailed as exc:
        raise Refusal(401, str(exc.detail), {"WWW-Authenticate": "Token"}) from None
    if not roles.has_role(user, role):
        raise Refusal(403, "Your role does not allow this.")
    return user


def _version(name: str, number: int | None) -> ModelVersion:
    return served_version_find(name=name, version=number)


def _answering(methods: tuple[str, ...]) -> Callable:
    """The views' common frame: allowed methods, refusals and exceptions as ``{"error"}``."""

    def wrap(view: Callable) -> Callable:
        @csrf_exempt  # token-authenticated; a session cookie is never read here
        def answer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return _error(405, f"Use {' or '.join(methods)}.", {"Allow": ", ".join(methods)})
            try:
                return view(request, *args, **kwargs)
            except Refusal as exc:
                return _error(exc.status, exc.message, exc.headers)
            except tensors.TensorError as exc:
                return _error(400, str(exc))
            except InvalidInput as exc:
                return _error(400, _tensor_message(exc))
            except Exception as exc:  # mapped as the v1 API maps it; anything else is a bug
                error = describe(exc)
                if error is None:
                    logger.exception("Unexpected error in %s", view.__name__)
                    return _error(500, "Something went wrong on our side; it has been logged.")
                return _error(error.status, error.message, error.headers)

        return answer

    return wrap


def _tensor_message(exc: InvalidInput) -> str:
    # Each input is one tensor of the same name: say which tensor and which row.
    messages = [
        f"Tensor '{field}', row {row}: {message}" if field != "inputs" else f"Row {row}: {message}"
        for row, fields in sorted(exc.row_errors.items())
        for field, field_messages in fields.items()
        for message in field_messages
    ]
    more = len(messages) - 1
    return messages[0] + (f" (and {more} more)" if more > 0 else "")


@_answering(("GET",))
def health_live(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"live": True})


@_answering(("GET",))
def health_ready(request: HttpRequest) -> HttpResponse:
    database = database_state()
    if database == "ok":
        return JsonResponse({"ready": True})
    # Lost or refused: say when to look again, as /api/ does.
    headers = unavailable().headers if database == "unavailable" else None
    return JsonResponse({"ready": False}, status=503, headers=headers)


@_answering(("GET",))
def server_metadata(request: HttpRequest) -> HttpResponse:
    return JsonResponse(SERVER)


@_answering(("GET",))
def model_metadata(request: HttpRequest, name: str, number: int | None = None) -> HttpResponse:
    _caller(request, roles.VIEWER)
    version = _version(name, number)
    interface = version_interface(version)
    numbers = ModelVersion.objects.filter(model_id=version.model_id).order_by("number")
    return JsonResponse(
        {
            "name": name,
            "versions": [str(n) for n in numbers.values_list("number", flat=True)],
            "platform": version.framework,
            "inputs": tensors.input_metadata(interface),
            "outputs": tensors.output_metadata(interface),
            "parameters": {"version": str(version.number)},
        }
    )


@_answering(("GET",))
def model_ready(request: HttpRequest, name: str, number: int | None = None) -> HttpResponse:
    _caller(request, roles.VIEWER)
    version = _version(name, number)
    return JsonResponse({"name": name, "version": str(version.number), "ready": True})


@_answering(("POST",))
def infer(request: HttpRequest, name: str, number: int | None = None) -> HttpResponse:
    user = _caller(request, roles.ANALYST)
    throttle = ModelCallThrottle()
    if not throttle.allow_request(SimpleNamespace(user=user), None):
        wait = max(1, round(throttle.wait()))
        raise Refusal(429, f"Throttled: retry in {wait} s.", {"Retry-After": str(wait)})
    body, binary = tensors.split_body(
        request.body, request.headers.get("Inference-Header-Content-Length")
    )
    # Inference follows a canary (without a version in the path); metadata is the champion's.
    version = served_version_find(name=name, version=number, caller=user.pk)
    interface = version_interface(version)
    rows, wanted = tensors.request_rows(body, binary, interface.names)
    tensors.outputs_check(interface, wanted)  # before anything is stored
    n = rows_sent(rows)
    with RowBudget(user, scored=n, stored=n):
        answer = prediction_run(version=version, rows=rows, user=user, source=Source.API)
    outputs = tensors.answer_tensors(interface, answer.predictions, wanted)
    response = {
        "model_name": name,
        "model_version": str(version.number),
        "id": str(body["id"]) if body.get("id") is not None else str(answer.prediction.id),
        "parameters": {
            "prediction_id": str(answer.prediction.id),
            "warnings": len(answer.warnings),
        },
        "outputs": outputs,
    }
    binary_parts = [tensors.to_binary(t) for t in outputs if tensors.wants_binary(body, t["name"])]
    if not binary_parts:
        return JsonResponse(response)
    head = json.dumps(response).encode()
    result = HttpResponse(head + b"".join(binary_parts), content_type="application/octet-stream")
    result["Inference-Header-Content-Length"] = str(len(head))
    return result
