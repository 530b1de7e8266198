"""The JSON API's views: a serializer checks the request, a registry service acts, a serializer
answers. Who may call what (permissions), how often (throttles) and in which formats (parsers)
are class attributes; errors of every kind become one shape in ``portal.web.errors``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import serializers as s
from portal.web.errors import RequestTooLarge, unavailable
from portal.web.parsers import MultiPartParser
from portal.web.permissions import IsAnalyst, IsManager, IsViewer, ManagerWrites
from portal.web.throttles import ModelCallThrottle, RowBudget, rows_sent
from registry.catalog.selectors import (
    alias_map,
    model_version_find,
    model_version_list,
    model_version_parse,
    model_version_select,
    registered_model_get,
    registered_model_list,
)
from registry.catalog.services import alias_remove, alias_set, model_version_register
from registry.compare.comparison import comparison_plan, comparison_predict
from registry.database import database_unavailable
from registry.explain import counterfactuals, explanations
from registry.explain.selectors import counterfactual_search, explanation_build
from registry.mlflow.importer import mlflow_model_read, mlflow_model_register, zip_reader
from registry.models import ModelVersion, Source
from registry.predict.selectors import prediction_get, prediction_list
from registry.predict.services import prediction_feedback_set, prediction_run, whatif_run
from registry.predict.serving import served_version_find
from registry.runtime import version_interface

logger = logging.getLogger("portal.api")

_ERROR_TEXT = {
    400: "Invalid input: the message names the field (and, for rows, the row).",
    401: "Not authenticated: send Authorization: Token <key> or a session cookie.",
    403: "Your role does not allow this.",
    404: "No such model, version, alias or prediction.",
    413: "Too many rows, or a body or file over the size limit.",
    415: "Unsupported media type.",
    429: (
        "Throttled (too many calls or rows scored), or quota_exceeded (the daily quota of "
        "stored rows): retry after the Retry-After seconds."
    ),
    503: "Not healthy.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error responses of an endpoint, all in the one error shape."""
    return {code: OpenApiResponse(s.ErrorSerializer, _ERROR_TEXT[code]) for code in statuses}


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


def _valid(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


_PLAIN_PREDICT_KEYS = frozenset({"inputs", "chart"})


# A counterfactual search scores batches until it has enough or its time is up (0.5 s): an
# impossible one tries 60,000-330,000 rows of a cheap model. It is charged what its time
# buys a predict or a compare (about 40,000 rows a second, bench/cost_of_limits.py).
SEARCH_COST = round(counterfactuals.BUDGET_SECONDS * 40_000)


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
    return _valid(s.PredictRequestSerializer, data)


class VersionedView(APIView):
    # Finds the version a request means: ``version`` or ``alias`` in the body, else in the
    # query string, else the champion, else the newest.

    def version_of(
        self, name: str, body: dict[str, Any] | None = None, *, find=model_version_find
    ) -> ModelVersion:
        chosen = body if body and ("version" in body or "alias" in body) else None
        if chosen is None:
            query = self.request.query_params
            chosen = _valid(s.VersionChoiceSerializer, query) if query else {}
        return find(name=name, version=chosen.get("version"), alias=chosen.get("alias"))


# ---------------------------------------------------------------- models and versions
class ModelListView(APIView):
    permission_classes = [IsViewer, ManagerWrites]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="models_list",
        tags=["models"],
        summary="The registered models",
        responses={200: s.ModelSummarySerializer(many=True), **errors(401, 403)},
    )
    def get(self, request: Request) -> Response:
        models = registered_model_list()
        return Response(
            s.ModelSummarySerializer(models, many=True, context={"request": request}).data
        )

    @extend_schema(
        operation_id="models_register",
        tags=["models"],
        summary="Register a model file as a new model or the next version of one",
        description=(
            "Multipart. The `artifact` must be a skops file whose types are all on the "
            "allow-list (pickle and joblib files are refused, never loaded). The interface "
            "is inferred from `reference_data` unless `interface` (JSON) is given; a change "
            "that breaks callers of the previous version needs `allow_breaking`. Instead of "
            "`artifact`, `mlflow_model` takes a zip of an MLflow model directory (sklearn "
            "flavor saved as skops): its signature gives the interface, its input example "
            "the defaults and its run the lineage; a pickled one is refused unread."
        ),
        request=s.RegisterRequestSerializer,
        responses={201: s.VersionSerializer, **errors(400, 401, 403, 413, 415)},
    )
    def post(self, request: Request) -> Response:
        data = _valid(s.RegisterRequestSerializer, request.data)
        keys = ("artifact", "mlflow_model", "reference_data")
        files = {key: data[key] for key in keys if key in data}
        limit = settings.PORTAL["MAX_ARTIFACT_BYTES"]
        for key, upload in files.items():
            if upload.size > limit:
                raise RequestTooLarge(f"{key}: the file is larger than {limit} bytes.")
        reference = files.get("reference_data")
        upload = files.get("artifact") or files["mlflow_model"]
        common = {
            "name": data["name"],
            "reference": reference.read() if reference else None,
            "target": data.get("target") or None,
            "title": data.get("title", ""),
            "description": data.get("description", ""),
            "interface": data.get("interface"),
            "alias": data.get("alias"),
            "allow_breaking": data["allow_breaking"],
            "source": data.get("source") or f"API upload of {upload.name}",
            "notes": data.get("notes", ""),
            "user": request.user,
        }
        if "mlflow_model" in files:
            # Read in place (a large upload is a temporary file): only the members taken
            # are ever in memory, never the whole zip beside them.
            read, folder = zip_reader(upload)
            model = mlflow_model_read(read=read, uri=folder)
            version = mlflow_model_register(model=model, **common)
        else:
            version = model_version_register(artifact=upload.read(), **common)
        return Response(
            s.VersionSerializer(version, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class ModelDetailView(APIView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="models_retrieve",
        tags=["models"],
        summary="A model and its versions",
        responses={200: s.ModelDetailSerializer, **errors(*READ_ERRORS)},
    )
    def get(self, request: Request, name: str) -> Response:
        model = registered_model_get(name=name)
        context = {
            "request": request,
            "versions": list(model_version_list(model=model)),
            "aliases": alias_map(model=model),
        }
        return Response(s.ModelDetailSerializer(model, context=context).data)


class VersionDetailView(APIView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="versions_retrieve",
        tags=["models"],
        summary="One version: interface, metrics, parameters, lineage, aliases",
        responses={200: s.VersionSerializer, **errors(*READ_ERRORS)},
    )
    def get(self, request: Request, name: str, number: int) -> Response:
        version = model_version_select(model=registered_model_get(name=name), version=number)
        return Response(s.VersionSerializer(version, context={"request": request}).data)


class InterfaceView(VersionedView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="interface_retrieve",
        tags=["models"],
        summary="The interface of the selected version, with the JSON Schema of one row",
        description=CHOOSING,
        parameters=VERSION_QUERY,
        responses={200: s.InterfaceSerializer, **errors(400, *READ_ERRORS)},
    )
    def get(self, request: Request, name: str) -> Response:
        version = self.version_of(name)
        context = {"request": request, "interface": version_interface(version)}
        return Response(s.InterfaceSerializer(version, context=context).data)


class AliasView(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        operation_id="aliases_set",
        tags=["models"],
        summary="Point an alias (champion, challenger, …) at a version",
        request=s.AliasRequestSerializer,
        responses={200: s.AliasSerializer, **errors(*WRITE_ERRORS)},
    )
    def put(self, request: Request, name: str, alias: str) -> Response:
        data = _valid(s.AliasRequestSerializer, request.data)
        model = registered_model_get(name=name)
        version = model_version_select(model=model, version=data["version"])
        pointer = alias_set(model=model, name=alias, version=version, user=request.user)
        return Response(s.AliasSerializer(pointer).data)

    @extend_schema(
        operation_id="aliases_remove",
        tags=["models"],
        summary="Remove an alias",
        responses={204: None, **errors(*READ_ERRORS)},
    )
    def delete(self, request: Request, name: str, alias: str) -> Response:
        alias_remove(model=registered_model_get(name=name), name=alias, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


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
        version = self.version_of(name, data, find=served_version_find)
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
        data = _valid(s.WhatIfRequestSerializer, request.data)
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


class ExplainView(VersionedView):
    permission_classes = [IsAnalyst]
    throttle_classes = [ModelCallThrottle]

    @extend_schema(
        operation_id="explain",
        tags=["predictions"],
        summary="Why one answer: how far each input pushed it from the average (not stored)",
        description=(
            "One effect per input of the interface (an input the model encodes as several "
            "columns is still one), Shapley values against a fixed sample of the version's "
            "reference rows: `baseline` (their average answer) + the sum of `effect` equals "
            "`answer` to within 1e-6. For a classifier the answer is the probability of "
            "`class` (by default a binary classifier's positive class, else the predicted class: "
            f"the class the pages follow). {CHOOSING}"
        ),
        parameters=VERSION_QUERY,
        request=s.ExplainRequestSerializer,
        responses={200: s.ExplainResponseSerializer, **errors(*MODEL_CALL_ERRORS)},
    )
    def post(self, request: Request, name: str) -> Response:
        data = _valid(s.ExplainRequestSerializer, request.data)
        version = self.version_of(name, data)
        # At most this many rows scored (besides the cached background's answers).
        cost = 1 + explanations.MAX_ROWS + explanations.BACKGROUND_ROWS
        with RowBudget(request.user, scored=cost):
            explanation = explanation_build(
                version=version, row=data["inputs"], target_class=data.get("class")
            )
        context = {"request": request, "chart": data["chart"], "version": version}
        return Response(s.ExplainResponseSerializer(explanation, context=context).data)


class CounterfactualsView(VersionedView):
    permission_classes = [IsAnalyst]
    throttle_classes = [ModelCallThrottle]

    @extend_schema(
        operation_id="counterfactuals",
        tags=["predictions"],
        summary="What would it take: the smallest changes of inputs that get another answer",
        description=(
            "Up to `count` rows, cheapest first (change measured in each input's spread), each "
            "changing at most `max_changes` inputs, none of them `fixed` or declared not "
            "actionable, every value inside the interface (observed range, limits, step, "
            "declared direction). Every row returned was re-scored by the model and gets "
            "`target` clearly: the class's probability ahead of every other by `margin` points "
            "(default 5), or the value inside the range by `margin`% of its width (of the way "
            "from the current answer, for a range with one end). None found: an empty list "
            "and a `message` saying what was searched. "
            f"The search stops within one second. {CHOOSING}"
        ),
        parameters=VERSION_QUERY,
        request=s.CounterfactualsRequestSerializer,
        responses={200: s.CounterfactualsResponseSerializer, **errors(*MODEL_CALL_ERRORS)},
    )
    def post(self, request: Request, name: str) -> Response:
        data = _valid(s.CounterfactualsRequestSerializer, request.data)
        version = self.version_of(name, data)
        with RowBudget(request.user, scored=SEARCH_COST):
            search = counterfactual_search(
                version=version,
                row=data["inputs"],
                target=data["target"],
                fixed=data["fixed"],
                max_changes=data["max_changes"],
                count=data["count"],
                margin=data["margin"],
            )
        context = {"request": request, "version": version}
        return Response(s.CounterfactualsResponseSerializer(search, context=context).data)


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
        data = _valid(s.CompareRequestSerializer, request.data)
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
        filters = _valid(s.PredictionFilterSerializer, self.request.query_params)
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
        query = _valid(s.ChartQuerySerializer, request.query_params)
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
        data = _valid(s.FeedbackRequestSerializer, request.data)
        prediction = prediction_get(user=request.user, id=id)
        prediction = prediction_feedback_set(prediction=prediction, actual=data["actual"])
        return Response(s.PredictionSerializer(prediction, context={"request": request}).data)


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
            503: OpenApiResponse(s.HealthSerializer, _ERROR_TEXT[503]),
        },
    )
    def get(self, request: Request) -> Response:
        headers = {}
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            database = "ok"
        except Exception as exc:  # any failure to reach the database means not healthy
            logger.warning("Health check: the database does not answer.", exc_info=True)
            # Lost or refused (restarting, down): say so, and when to look again.
            database = "unavailable" if database_unavailable(exc) else "error"
            if database == "unavailable":
                headers = unavailable().headers
        healthy = database == "ok"
        body = {"status": "ok" if healthy else "error", "database": database}
        return Response(
            s.HealthSerializer(body).data,
            status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
            headers=headers,
        )
