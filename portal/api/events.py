"""The API's webhooks: register, list, remove, and read each one's delivery log (managers)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.base import READ_ERRORS, WRITE_ERRORS, errors, valid_data
from portal.web.permissions import IsManager
from registry.events.selectors import delivery_attempts, webhook_get, webhook_list
from registry.events.services import EVENTS, webhook_create, webhook_remove
from registry.models import DeliveryAttempt, Webhook


class WebhookRequestSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000)
    events = serializers.ListField(child=serializers.ChoiceField(EVENTS), min_length=1)
    models = serializers.ListField(child=serializers.SlugField(), required=False, default=list)
    secret = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)


class WebhookSerializer(serializers.ModelSerializer):
    models = serializers.SerializerMethodField()

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "models", "created_at"]

    def get_models(self, hook: Webhook) -> list[str]:
        return [m.name for m in hook.for_models.all()]


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.SerializerMethodField()

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]

    def get_secret(self, hook: Webhook) -> str:
        return hook.secret  # shown once, when the webhook is made


class AttemptSerializer(serializers.ModelSerializer):
    delivery = serializers.UUIDField(source="delivery_id")
    event = serializers.CharField(source="delivery.event.name")
    event_id = serializers.UUIDField(source="delivery.event_id")
    attempt = serializers.IntegerField(source="number")
    state = serializers.CharField(source="delivery.state")

    class Meta:
        model = DeliveryAttempt
        fields = ["delivery", "event", "event_id", "attempt", "at", "status_code", "error"]
        fields += ["duration_ms", "state"]


class WebhookListView(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        operation_id="webhooks_list",
        tags=["webhooks"],
        summary="The webhooks in use",
        responses={200: WebhookSerializer(many=True), **errors(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return Response(WebhookSerializer(webhook_list(), many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        tags=["webhooks"],
        summary="Register a webhook: a URL that hears of events, signed with a secret",
        description=(
            "Only http(s); a host that resolves to a link-local or cloud-metadata address is "
            "refused, and one that resolves to a loopback or private address unless the "
            "server runs with PORTAL_WEBHOOK_ALLOW_PRIVATE=1. Without `secret` one is made; "
            "it is answered once, here. Each delivery is signed: `X-Portal-Signature: "
            "sha256=<hex HMAC-SHA256 of the body>`."
        ),
        request=WebhookRequestSerializer,
        responses={201: WebhookCreatedSerializer, **errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        data = valid_data(WebhookRequestSerializer, request.data)
        hook, _ = webhook_create(
            url=data["url"],
            events=data["events"],
            models=data["models"],
            secret=data["secret"],
            user=request.user,
        )
        return Response(WebhookCreatedSerializer(hook).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        operation_id="webhooks_remove",
        tags=["webhooks"],
        summary="Remove a webhook (its delivery log stays readable)",
        responses={204: None, **errors(*READ_ERRORS)},
    )
    def delete(self, request: Request, id: int) -> Response:
        webhook_remove(webhook=webhook_get(id=id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryListView(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        operation_id="webhooks_deliveries",
        tags=["webhooks"],
        summary="Every attempt to deliver to a webhook: event, time, status or error, duration",
        responses={200: AttemptSerializer(many=True), **errors(*READ_ERRORS)},
    )
    def get(self, request: Request, id: int) -> Response:
        hook = webhook_get(id=id, removed=True)  # a removed webhook's log stays readable
        return Response(AttemptSerializer(delivery_attempts(webhook=hook), many=True).data)
