"""The API's health check: the database answers."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import serializers as s
from portal.api.base import ERROR_TEXT
from portal.web.errors import unavailable
from registry.database import database_state


# ---------------------------------------------------------------- service
class HealthView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="health",
        tags=["service"],
        summary="Whether the portal and its database answer",
        responses={
            200: s.HealthSerializer,
            503: OpenApiResponse(s.HealthSerializer, ERROR_TEXT[503]),
        },
    )
    def get(self, request: Request) -> Response:
        database = database_state()
        # Lost or refused (restarting, down): say so, and when to look again.
        headers = unavailable().headers if database == "unavailable" else {}
        healthy = database == "ok"
        body = {"status": "ok" if healthy else "error", "database": database}
        return Response(
            s.HealthSerializer(body).data,
            status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
            headers=headers,
        )
