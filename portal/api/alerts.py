"""The API's alert rules of a model: list (viewers), make and remove (managers)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.base import READ_ERRORS, WRITE_ERRORS, errors, valid_data
from portal.web.permissions import IsManager, IsViewer, ManagerWrites
from registry.alerts.selectors import alert_rule_get, alert_rule_list
from registry.alerts.services import alert_rule_create, alert_rule_remove
from registry.catalog.selectors import registered_model_get
from registry.models import AlertRule


class AlertRequestSerializer(serializers.Serializer):
    when = serializers.CharField(max_length=40)
    # A float field would turn "NaN" into nan: the service refuses what is not finite.
    threshold = serializers.FloatField(required=False, allow_null=True, default=None)
    webhooks = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=20
    )
    emails = serializers.ListField(
        child=serializers.CharField(max_length=254), required=False, default=list, max_length=20
    )


class AlertSerializer(serializers.ModelSerializer):
    webhooks = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    last_change = serializers.DateTimeField(source="changed_at", allow_null=True)

    class Meta:
        model = AlertRule
        fields = ["id", "when", "threshold", "webhooks", "emails", "state", "last_change"]
        fields += ["checked_at", "value", "message", "created_at"]


class AlertListView(APIView):
    permission_classes = [IsViewer, ManagerWrites]

    @extend_schema(
        operation_id="alerts_list",
        tags=["monitoring"],
        summary="A model's alert rules, each with its state (ok, firing) and last change",
        responses={200: AlertSerializer(many=True), **errors(*READ_ERRORS)},
    )
    def get(self, request: Request, name: str) -> Response:
        model = registered_model_get(name=name)
        return Response(AlertSerializer(alert_rule_list(model=model), many=True).data)

    @extend_schema(
        operation_id="alerts_create",
        tags=["monitoring"],
        summary="Add an alert rule: fires once when its condition starts, once when it clears",
        description=(
            "`when`: drift (threshold: inputs drifted, default 1), performance (from feedback "
            "over the last 7 days) or estimated_performance (without feedback): threshold the "
            "worsening allowed, a share of the MAE or points of accuracy (default 0.10 / "
            "0.03), latency_p99 (ms over the last day, required), refused_rate (share of the "
            "last day's calls, required). Evaluated by the task worker every "
            "PORTAL_ALERT_INTERVAL seconds; `alert.fired` / `alert.resolved` go to the "
            "webhooks that hear of them and to the rule's own `webhooks` and `emails`."
        ),
        request=AlertRequestSerializer,
        responses={201: AlertSerializer, **errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, name: str) -> Response:
        model = registered_model_get(name=name)
        data = valid_data(AlertRequestSerializer, request.data)
        rule = alert_rule_create(model=model, user=request.user, **data)
        return Response(AlertSerializer(rule).data, status=status.HTTP_201_CREATED)


class AlertDetailView(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        operation_id="alerts_remove",
        tags=["monitoring"],
        summary="Remove an alert rule",
        responses={204: None, **errors(*READ_ERRORS)},
    )
    def delete(self, request: Request, name: str, id: int) -> Response:
        rule = alert_rule_get(model=registered_model_get(name=name), id=id)
        alert_rule_remove(rule=rule)
        return Response(status=status.HTTP_204_NO_CONTENT)
