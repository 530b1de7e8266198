"""The API's answers: predict, what-if, stored answers and their feedback."""

from __future__ import annotations

from functools import partial
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import serializers as s
from portal.api.base import (
    CHOOSING,
    MODEL_CALL_ERRORS,
    READ_ERRORS,
    ROWS_FORMS,
    VERSION_QUERY,
    WRITE_ERRORS,
    VersionedView,
    errors,
    valid_data,
)
from portal.web.permissions import IsAnalyst
from portal.web.throttles import ModelCallThrottle, RowBudget, rows_sent
from registry.models import Source
from registry.predict.selectors import prediction_get, prediction_list
from registry.predict.services import prediction_feedback_set, prediction_run, whatif_run
from registry.predict.serving import served_version_find
from registry.runtime import version_interface

_PLAIN_PREDICT_KEYS = frozenset({"inputs", "chart"})


def _predict_request(data: Any) -> dict[str, Any]:
    """A predict body checked as :class:`PredictRequestSerializer` checks it.

    The usual body, ``{"inputs": [...]}`` with ``chart`` true or false at most, is what the
    serializer would hand back unchanged, so it skips building one (its fields are deep-copied
    per call); any other body goes through the serializer.
    """
    if (
        type(data) is dict
        and data.keys() <= _PLAIN_PREDICT_KEYS
        and type(data.get("inputs")) is list
        and type(data.get("chart", False)) is bool
    ):
        return {"rows": data["inputs"], "chart": data.get("chart", False)}
    return valid_data(s.PredictRequestSerializer, data)


# ---------------------------------------------------------------- answers
class PredictView(VersionedView):
    permission_classes = [IsAnalyst]
    throttle_classes = [ModelCallThrottle]

    @extend_schema(
        operation_id="predict",
        tags=["predictions"],
        summary="Answer rows with a model; the call is stored as one prediction",
        description=f"{ROWS_FORMS} {CHOOSING} `chart: true` adds the Plotly figure.",
        parameters=VERSION_QUERY,
        request=s.PredictRequestSerializer,
        responses={200: s.PredictResponseSerializer, **errors(*MODEL_CALL_ERRORS)},
    )
    def post(self, request: Request, name: str) -> Response:
        data = _predict_request(request.data)
        version = self.version_of(
            name, data, find=partial(served_version_find, caller=request.user.pk)
        )
        rows = rows_sent(data["rows"])
        with RowBudget(request.user, scored=rows, stored=rows):
            answer = prediction_run(
                version=version, rows=data["rows"], user=request.user, source=Source.API
            )
        return Response(s.predict_answer(request, answer, chart=data["chart"]))


class WhatIfView(VersionedView):
    permission_classes = [IsAnalyst]
    throttle_classes = [ModelCallThrottle]

    @extend_schema(
        operation_id="whatif",
        tags=["predictions"],
        summary="One row's answer and how it moves as each input moves (not stored)",
        description=(
            "Each input in `features` (all by default) is swept over its training range, or "
            "its categories, with the others held at the row's values; for a classifier each "
            f"point holds the class probabilities. {CHOOSING}"
        ),
        parameters=VERSION_QUERY,
        request=s.WhatIfRequestSerializer,
        responses={200: s.WhatIfResponseSerializer, **errors(*MODEL_CALL_ERRORS)},
    )
    def post(self, request: Request, name: str) -> Response:
        data = valid_data(s.WhatIfRequestSerializer, request.data)
        version = self.version_of(name, data)
        swept = len(data.get("features") or version_interface(version).names)
        with RowBudget(request.user, scored=1 + swept * data["points"]):
            whatif = whatif_run(
                version=version,
                row=data["inputs"],
                user=request.user,
                source=Source.API,
                features=data.get("features"),
                points=data["points"],
            )
        context = {"request": request, "chart": data["chart"]}
        return Response(s.WhatIfResponseSerializer(whatif, context=context).data)


# ---------------------------------------------------------------- history and feedback
class PredictionPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class PredictionListView(generics.ListAPIView):
    permission_classes = [IsAnalyst]
    pagination_class = PredictionPagination
    serializer_class = s.PredictionSummarySerializer

    def get_queryset(self):
        filters = valid_data(s.PredictionFilterSerializer, self.request.query_params)
        return prediction_list(user=self.request.user, **filters).defer(
            "inputs", "outputs", "warnings"
        )

    @extend_schema(
        operation_id="predictions_list",
        tags=["predictions"],
        summary="Stored predictions, newest first: your own, or everyone's for a manager",
        parameters=[s.PredictionFilterSerializer],
        responses={200: s.PredictionSummarySerializer(many=True), **errors(400, *READ_ERRORS)},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class PredictionDetailView(APIView):
    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="predictions_retrieve",
        tags=["predictions"],
        summary="One stored prediction, with its chart on request",
        parameters=[s.ChartQuerySerializer],
        responses={200: s.PredictionSerializer, **errors(400, *READ_ERRORS)},
    )
    def get(self, request: Request, id: str) -> Response:
        query = valid_data(s.ChartQuerySerializer, request.query_params)
        prediction = prediction_get(user=request.user, id=id)
        context = {"request": request, "chart": query["chart"]}
        return Response(s.PredictionSerializer(prediction, context=context).data)


class FeedbackView(APIView):
    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="predictions_feedback",
        tags=["predictions"],
        summary="Record the actual outcome of a prediction",
        request=s.FeedbackRequestSerializer,
        responses={200: s.PredictionSerializer, **errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, id: str) -> Response:
        data = valid_data(s.FeedbackRequestSerializer, request.data)
        prediction = prediction_get(user=request.user, id=id)
        prediction = prediction_feedback_set(prediction=prediction, actual=data["actual"])
        return Response(s.PredictionSerializer(prediction, context={"request": request}).data)
