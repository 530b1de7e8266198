"""Fairness in the API: mark inputs sensitive, name the favourable answer, read the report
(``registry.fairness`` computes; these views read the request and answer)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api import serializers as s
from portal.api.base import (
    READ_ERRORS,
    VERSION_QUERY,
    WRITE_ERRORS,
    VersionedView,
    errors,
    valid_data,
)
from portal.charting.fairness import fairness_figures
from portal.web.permissions import IsManager, IsViewer, ManagerWrites
from registry.catalog.services import version_actionability_set
from registry.fairness.selectors import ON
from registry.fairness.services import (
    fairness_read,
    version_favourable_set,
    version_sensitive_set,
)
from registry.interface import DIRECTIONS
from registry.runtime import version_interface


class InputChangeSerializer(serializers.Serializer):
    sensitive = serializers.BooleanField(
        required=False, help_text="Compare the groups of this input in the fairness figures."
    )
    actionable = serializers.BooleanField(
        required=False, help_text="May “what would it take” move this input?"
    )
    direction = serializers.ChoiceField(
        DIRECTIONS, required=False, help_text="Which way it may move (numbers and booleans)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give sensitive, actionable or direction.")
        return attrs


class InputSerializer(serializers.Serializer):
    model = serializers.CharField()
    version = serializers.IntegerField()
    revision = serializers.IntegerField()
    input = s.JSONValue(help_text="The input's (or kept column's) entry in the interface.")
    groups = serializers.CharField(help_text="How its groups are made, when sensitive.")


class InputView(VersionedView):
    permission_classes = [IsManager]

    @extend_schema(
        operation_id="inputs_update",
        tags=["models"],
        summary="Mark an input sensitive, or change what can change about it",
        description=(
            "No new version: the version's revision goes up and the change is audited. "
            "`sensitive` also takes a column kept from the reference data at registration "
            "(`keep`), which the model does not use. A number with more than 20 distinct "
            "values is compared in 5 bins of equal rows; a category or text with more than "
            "20 is refused."
        ),
        parameters=VERSION_QUERY,
        request=InputChangeSerializer,
        responses={200: InputSerializer, **errors(*WRITE_ERRORS)},
    )
    def patch(self, request: Request, name: str, input: str) -> Response:
        data = valid_data(InputChangeSerializer, request.data)
        version = self.version_of(name)
        how = ""
        if "sensitive" in data:
            version, how = version_sensitive_set(
                version=version, name=input, sensitive=data["sensitive"], user=request.user
            )
        moves = {k: data[k] for k in ("actionable", "direction") if k in data}
        if moves:
            version = version_actionability_set(
                version=version, changes={input: moves}, user=request.user
            )
        interface = version_interface(version)
        entry = next(
            (f.spec for f in interface.fields if f.name == input),
            next((k for k in interface.kept if k["name"] == input), {}),
        )
        return Response(
            {
                "model": version.model.name,
                "version": version.number,
                "revision": version.revision,
                "input": entry,
                "groups": how,
            }
        )


class FairnessQuerySerializer(serializers.Serializer):
    on = serializers.ChoiceField(ON, default="reference")
    chart = serializers.BooleanField(default=False)


class FavourableSerializer(serializers.Serializer):
    favourable = s.JSONValue(
        allow_null=True,
        help_text="A class, or for a regressor a range {min, max}; null forgets it.",
    )


class FairnessSerializer(serializers.Serializer):
    model = serializers.CharField()
    version = serializers.IntegerField()
    on = serializers.ChoiceField(ON)
    task = serializers.CharField()
    favourable = s.JSONValue(allow_null=True)
    positive = serializers.CharField(allow_null=True)
    rows = serializers.IntegerField()
    small_group = serializers.IntegerField(help_text="Groups with fewer rows are flagged small.")
    inputs = s.JSONValue(
        help_text="Per sensitive input: groups (count, selection_rate per class, accuracy, "
        "tpr/fpr or recall per class, mae and mean_prediction, intervals, small), compared, "
        "largest_difference, smallest_ratio, sentences, recourse [{group, rows, found, "
        "median_cost, seconds}], over_time (feedback)."
    )
    notes = serializers.ListField(child=serializers.CharField())
    recourse_status = serializers.CharField()
    recourse_message = serializers.CharField(allow_blank=True)
    chart = s.JSONValue(required=False)


class FairnessView(VersionedView):
    permission_classes = [IsViewer, ManagerWrites]

    @extend_schema(
        operation_id="fairness_retrieve",
        tags=["models"],
        summary="Figures per group of each sensitive input, and recourse per group",
        description=(
            "Computed with fairlearn's MetricFrame on the version's reference rows "
            "(`on=reference`) or on the newest 5,000 answered rows with feedback "
            "(`on=feedback`, with the gap per week). Groups with fewer than `small_group` "
            "rows are shown, flagged `small`, and left out of the largest difference and the "
            "smallest ratio; a figure whose denominator is empty is null. Recourse is measured "
            "by the task worker once per revision (`recourse_status`)."
        ),
        parameters=[
            *VERSION_QUERY,
            OpenApiParameter("on", str, enum=list(ON), description="Default reference."),
            OpenApiParameter("chart", bool, description="Add the card's Plotly figures."),
        ],
        responses={200: FairnessSerializer, **errors(400, *READ_ERRORS)},
    )
    def get(self, request: Request, name: str) -> Response:
        query = valid_data(FairnessQuerySerializer, request.query_params)
        version = self.version_of(name)
        report = fairness_read(version=version, on=query["on"], user=request.user)
        if query["chart"]:
            report["chart"] = fairness_figures(report)
        return Response(report)

    @extend_schema(
        operation_id="fairness_favourable_set",
        tags=["models"],
        summary="Name the favourable answer recourse is measured against",
        parameters=VERSION_QUERY,
        request=FavourableSerializer,
        responses={200: FairnessSerializer, **errors(*WRITE_ERRORS)},
    )
    def patch(self, request: Request, name: str) -> Response:
        data = valid_data(FavourableSerializer, request.data)
        version = version_favourable_set(
            version=self.version_of(name), favourable=data["favourable"], user=request.user
        )
        return Response(fairness_read(version=version, user=request.user))
