"""The API's releases: the release state, shadow, canary and four-eyes promotions."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.base import READ_ERRORS, WRITE_ERRORS, errors, valid_data
from portal.web.permissions import IsManager, IsViewer, ManagerWrites
from registry.catalog.selectors import CHAMPION, registered_model_get
from registry.releases.promotions import (
    promotion_approve,
    promotion_reject,
    promotion_request,
)
from registry.releases.selectors import (
    promotion_dict,
    promotion_get,
    promotion_list,
    release_report,
)
from registry.releases.services import canary_start, canary_stop, shadow_start, shadow_stop

RELEASE_ERRORS = (*WRITE_ERRORS, 409)


class ShadowRequestSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    share = serializers.FloatField(required=False, default=1.0)


class CanaryRequestSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    percent = serializers.FloatField()
    sticky = serializers.BooleanField(required=False, default=False)


class PromotionRequestSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    alias = serializers.SlugField(required=False, default=CHAMPION, max_length=50)
    comment = serializers.CharField(required=False, default="", allow_blank=True)


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, default="", allow_blank=True)


def _release(request: Request, name: str) -> dict[str, Any]:
    return release_report(model=registered_model_get(name=name))


class ReleaseView(APIView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="release_retrieve",
        tags=["releases"],
        summary="The release of a model: champion, shadow comparison, canary, pending requests",
        description=(
            "`shadow`: calls seen and compared, agreement (classifiers) or value difference "
            "(regressors), each side's latency, performance on answers with feedback (each "
            "side and the difference with a 95% interval), a verdict in plain words and a "
            "few disagreeing rows. `canary`: calls and failed calls each side since it "
            "started, and why it ended."
        ),
        responses={200: OpenApiTypes.OBJECT, **errors(*READ_ERRORS)},
    )
    def get(self, request: Request, name: str) -> Response:
        return Response(_release(request, name))


class ShadowView(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        operation_id="release_shadow_set",
        tags=["releases"],
        summary="Put a version in shadow: it also answers the champion's calls, in the background",
        request=ShadowRequestSerializer,
        responses={200: OpenApiTypes.OBJECT, **errors(*RELEASE_ERRORS)},
    )
    def put(self, request: Request, name: str) -> Response:
        data = valid_data(ShadowRequestSerializer, request.data)
        model = registered_model_get(name=name)
        shadow_start(model=model, number=data["version"], share=data["share"], user=request.user)
        return Response(_release(request, name))

    @extend_schema(
        operation_id="release_shadow_stop",
        tags=["releases"],
        summary="Stop the shadow (its comparison stays in the audit trail)",
        responses={200: OpenApiTypes.OBJECT, **errors(*READ_ERRORS)},
    )
    def delete(self, request: Request, name: str) -> Response:
        shadow = shadow_stop(model=registered_model_get(name=name), user=request.user)
        return Response({"stopped": shadow.summary})


class CanaryView(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        operation_id="release_canary_set",
        tags=["releases"],
        summary="Start a canary: a version answers a percent of the calls naming no version",
        request=CanaryRequestSerializer,
        responses={200: OpenApiTypes.OBJECT, **errors(*RELEASE_ERRORS)},
    )
    def put(self, request: Request, name: str) -> Response:
        data = valid_data(CanaryRequestSerializer, request.data)
        canary_start(
            model=registered_model_get(name=name),
            number=data["version"],
            percent=data["percent"],
            sticky=data["sticky"],
            user=request.user,
        )
        return Response(_release(request, name))

    @extend_schema(
        operation_id="release_canary_stop",
        tags=["releases"],
        summary="End the canary",
        responses={200: OpenApiTypes.OBJECT, **errors(*READ_ERRORS)},
    )
    def delete(self, request: Request, name: str) -> Response:
        canary_stop(model=registered_model_get(name=name), user=request.user)
        return Response(_release(request, name))


class PromotionListView(APIView):
    permission_classes = [IsViewer, ManagerWrites]

    @extend_schema(
        operation_id="promotions_list",
        tags=["releases"],
        summary="A model's promotion requests, newest first",
        responses={200: OpenApiTypes.OBJECT, **errors(*READ_ERRORS)},
    )
    def get(self, request: Request, name: str) -> Response:
        model = registered_model_get(name=name)
        return Response([promotion_dict(p) for p in promotion_list(model=model, pending=False)])

    @extend_schema(
        operation_id="promotions_request",
        tags=["releases"],
        summary="Ask for an alias (the champion) to point at a version; another manager decides",
        request=PromotionRequestSerializer,
        responses={201: OpenApiTypes.OBJECT, **errors(*RELEASE_ERRORS)},
    )
    def post(self, request: Request, name: str) -> Response:
        data = valid_data(PromotionRequestSerializer, request.data)
        promotion = promotion_request(
            model=registered_model_get(name=name),
            number=data["version"],
            alias=data["alias"],
            comment=data["comment"],
            user=request.user,
        )
        return Response(promotion_dict(promotion), status=status.HTTP_201_CREATED)


class PromotionDecisionView(APIView):
    permission_classes = [IsManager]
    decide = staticmethod(promotion_approve)

    @extend_schema(
        tags=["releases"],
        summary="Approve or reject a pending request (not your own)",
        request=DecisionSerializer,
        responses={200: OpenApiTypes.OBJECT, **errors(*RELEASE_ERRORS)},
    )
    def post(self, request: Request, name: str, id: int) -> Response:
        data = valid_data(DecisionSerializer, request.data)
        promotion = promotion_get(model=registered_model_get(name=name), id=id)
        decided = self.decide(promotion=promotion, comment=data["comment"], user=request.user)
        return Response(promotion_dict(decided))


class PromotionApproveView(PromotionDecisionView):
    decide = staticmethod(promotion_approve)


class PromotionRejectView(PromotionDecisionView):
    decide = staticmethod(promotion_reject)
