"""The dossier endpoint: a version documented as a PDF for a reviewer or a regulator."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from portal.api.base import READ_ERRORS, errors
from portal.web.dossier import dossier_make
from portal.web.permissions import IsViewer
from registry.catalog.selectors import model_version_select, registered_model_get


class DossierView(APIView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="versions_dossier",
        tags=["models"],
        summary="The version's dossier (PDF): purpose, lineage, interface, metrics, fairness …",
        description=(
            "Purpose, owner and intended use; lineage and MLflow origin; the interface with "
            "labels, units, ranges, actionability and sensitivity; metrics with 95% bootstrap "
            "intervals; evaluation charts and global importance (vector graphics); fairness "
            "and recourse; a monitoring summary; the audit trail; the artifact's sha256 and the "
            "content's. `X-Dossier-SHA256` is the file's own sha256, `X-Dossier-Content-SHA256` "
            "the hash printed inside (the same for an unchanged version). A version without "
            "reference data gets a dossier that says what is missing."
        ),
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, "The PDF."),
            **errors(*READ_ERRORS),
        },
    )
    def get(self, request: Request, name: str, number: int) -> HttpResponse:
        version = model_version_select(model=registered_model_get(name=name), version=number)
        dossier = dossier_make(version=version, user=request.user)
        response = HttpResponse(dossier.pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{dossier.filename}"'
        response["X-Dossier-SHA256"] = dossier.sha256
        response["X-Dossier-Content-SHA256"] = dossier.content_sha256
        response["Cache-Control"] = "private, no-store"
        return response
