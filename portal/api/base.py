"""What every API view shares: error documentation, request checking, version choice."""

from __future__ import annotations

import logging
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.views import APIView

from portal.api import serializers as s
from registry.catalog.selectors import (
    model_version_find,
)
from registry.models import ModelVersion

logger = logging.getLogger("portal.api")


ERROR_TEXT = {
    400: "Invalid input: the message names the field (and, for rows, the row).",
    401: "Not authenticated: send Authorization: Token <key> or a session cookie.",
    403: "Your role does not allow this.",
    404: "No such model, version, alias or prediction.",
    413: "Too many rows, or a body or file over the size limit.",
    409: "Conflict with the current state: the message says which (approval_required, …).",
    415: "Unsupported media type.",
    429: (
        "Throttled (too many calls or rows scored), or quota_exceeded (the daily quota of "
        "stored rows): retry after the Retry-After seconds."
    ),
    503: "Not healthy.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error responses of an endpoint, all in the one error shape."""
    return {code: OpenApiResponse(s.ErrorSerializer, ERROR_TEXT[code]) for code in statuses}


READ_ERRORS = (401, 403, 404)


WRITE_ERRORS = (400, 401, 403, 404, 415)


MODEL_CALL_ERRORS = (400, 401, 403, 404, 413, 415, 429)


CHOOSING = (
    "The version is `version` or `alias` from the body, else from the query string, "
    "else the `champion` alias, else the newest version."
)


ROWS_FORMS = (
    "Rows come as `inputs` (a list of objects), or, for clients of MLflow's scoring server, "
    "`dataframe_split` or `dataframe_records`. Each row is checked against the version's "
    "interface: an unknown or missing field, a wrong type, NaN or infinity, or an unknown "
    "category is refused with `invalid_input`, naming the row and field; nothing is stored."
)


VERSION_QUERY = [
    OpenApiParameter("version", int, description="A version number (default: champion)."),
    OpenApiParameter("alias", str, description="An alias, such as champion."),
]


def valid_data(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class VersionedView(APIView):
    # Finds the version a request means: ``version`` or ``alias`` in the body, else in the
    # query string, else the champion, else the newest.

    def version_of(
        self, name: str, body: dict[str, Any] | None = None, *, find=model_version_find
    ) -> ModelVersion:
        chosen = body if body and ("version" in body or "alias" in body) else None
        if chosen is None:
            query = self.request.query_params
            chosen = valid_data(s.VersionChoiceSerializer, query) if query else {}
        return find(name=name, version=chosen.get("version"), alias=chosen.get("alias"))
