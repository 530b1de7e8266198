"""The API's comparison: the same rows through several models."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import serializers as s
from portal.api.base import MODEL_CALL_ERRORS, ROWS_FORMS, errors, valid_data
from portal.web.permissions import IsAnalyst
from portal.web.throttles import ModelCallThrottle, RowBudget, rows_sent
from registry.catalog.selectors import (
    model_version_parse,
)
from registry.compare.comparison import comparison_plan, comparison_predict
from registry.models import Source


class CompareView(APIView):
    permission_classes = [IsAnalyst]
    throttle_classes = [ModelCallThrottle]

    @extend_schema(
        operation_id="compare",
        tags=["predictions"],
        summary="The same rows through several models or versions; each stored",
        description=(
            'Each of `models` (2 to 6) is "name" (its champion, else newest), "name@3" or '
            '"name@alias". The models must be of one task, share at least one input, and give '
            "each shared input one type; otherwise the reason comes back as `invalid_input` on "
            "`models`. A row may hold any input of any of the models: each model takes the "
            "inputs it knows and checks them itself (a field no model takes is unknown). "
            "Nothing is stored unless `save` is true: then one prediction per model, all or "
            f"none, whose `id` and `url` come back (null otherwise). {ROWS_FORMS}"
        ),
        request=s.CompareRequestSerializer,
        responses={200: s.CompareResponseSerializer, **errors(*MODEL_CALL_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        data = valid_data(s.CompareRequestSerializer, request.data)
        versions = [model_version_parse(spec=spec) for spec in data["models"]]
        if data["chart"] and len({v.task for v in versions}) > 1:
            raise ValidationError({"models": ["One chart compares models of one task."]})
        # Two names may mean one version (an alias and its number): each name is answered.
        plan = comparison_plan(versions=versions, labels=data["models"], repeats=True)
        # Every model answers every row; only a saved comparison is stored (one per model).
        rows = rows_sent(data["rows"]) * len(versions)
        with RowBudget(request.user, scored=rows, stored=rows if data["save"] else 0):
            answers = comparison_predict(
                plan=plan,
                rows=data["rows"],
                user=request.user,
                source=Source.API,
                store=data["save"],
            )
        context = {"request": request, "chart": data["chart"], "models": data["models"]}
        return Response(s.CompareResponseSerializer(answers, context=context).data)
