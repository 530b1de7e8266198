"""URLs of the JSON API (v1), its OpenAPI schema and its Swagger UI, under /api/."""

from functools import cache

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from portal.api import alerts, batch, events, monitoring, releases
from portal.api.catalog import (
    AliasView,
    InterfaceView,
    ModelDetailView,
    ModelListView,
    VersionDetailView,
)
from portal.api.compare import CompareView
from portal.api.dossier import DossierView
from portal.api.explain import CounterfactualsView, ExplainView
from portal.api.fairness import FairnessView, InputView
from portal.api.health import HealthView
from portal.api.predict import (
    FeedbackView,
    PredictionDetailView,
    PredictionListView,
    PredictView,
    WhatIfView,
)
from portal.web.errors import not_found

app_name = "api"


@cache
def _spectacular(name: str, **initkwargs):
    # drf-spectacular's views, imported when first asked for: their module brings the schema
    # generator, ~10 ms of every server's start (bench/api_http.py --cold) for two pages that
    # client generators and people read.
    from drf_spectacular import views

    return getattr(views, name).as_view(**initkwargs)


@csrf_exempt
def schema(request, *args, **kwargs):
    return _spectacular("SpectacularAPIView")(request, *args, **kwargs)


@csrf_exempt
def docs(request, *args, **kwargs):
    view = _spectacular("SpectacularSwaggerSplitView", url_name="api:schema")
    return view(request, *args, **kwargs)


urlpatterns = [
    path("v1/models/", ModelListView.as_view(), name="model-list"),
    path("v1/models/<slug:name>/", ModelDetailView.as_view(), name="model-detail"),
    path(
        "v1/models/<slug:name>/versions/<int:number>/",
        VersionDetailView.as_view(),
        name="version-detail",
    ),
    path(
        "v1/models/<slug:name>/versions/<int:number>/dossier/",
        DossierView.as_view(),
        name="version-dossier",
    ),
    path("v1/models/<slug:name>/interface/", InterfaceView.as_view(), name="model-interface"),
    path(
        "v1/models/<slug:name>/aliases/<slug:alias>/",
        AliasView.as_view(),
        name="model-alias",
    ),
    path("v1/models/<slug:name>/predict/", PredictView.as_view(), name="predict"),
    path("v1/models/<slug:name>/whatif/", WhatIfView.as_view(), name="whatif"),
    path("v1/models/<slug:name>/explain/", ExplainView.as_view(), name="explain"),
    path(
        "v1/models/<slug:name>/counterfactuals/",
        CounterfactualsView.as_view(),
        name="counterfactuals",
    ),
    path("v1/compare/", CompareView.as_view(), name="compare"),
    path("v1/predictions/", PredictionListView.as_view(), name="prediction-list"),
    path(
        "v1/predictions/<uuid:id>/",
        PredictionDetailView.as_view(),
        name="prediction-detail",
    ),
    path(
        "v1/predictions/<uuid:id>/feedback/",
        FeedbackView.as_view(),
        name="prediction-feedback",
    ),
    path(
        "v1/models/<slug:name>/monitoring/",
        monitoring.MonitoringView.as_view(),
        name="monitoring",
    ),
    path("v1/models/<slug:name>/inputs/<str:input>/", InputView.as_view(), name="model-input"),
    path("v1/models/<slug:name>/fairness/", FairnessView.as_view(), name="fairness"),
    path("v1/models/<slug:name>/alerts/", alerts.AlertListView.as_view(), name="alert-list"),
    path(
        "v1/models/<slug:name>/alerts/<int:id>/",
        alerts.AlertDetailView.as_view(),
        name="alert-detail",
    ),
    path("v1/models/<slug:name>/batch/", batch.BatchCreateView.as_view(), name="batch"),
    path("v1/jobs/<uuid:id>/", batch.JobDetailView.as_view(), name="job-detail"),
    path("v1/jobs/<uuid:id>/result/", batch.JobResultView.as_view(), name="job-result"),
    path("v1/models/<slug:name>/release/", releases.ReleaseView.as_view(), name="release"),
    path(
        "v1/models/<slug:name>/release/shadow/",
        releases.ShadowView.as_view(),
        name="release-shadow",
    ),
    path(
        "v1/models/<slug:name>/release/canary/",
        releases.CanaryView.as_view(),
        name="release-canary",
    ),
    path(
        "v1/models/<slug:name>/promotions/",
        releases.PromotionListView.as_view(),
        name="promotion-list",
    ),
    path(
        "v1/models/<slug:name>/promotions/<int:id>/approve/",
        releases.PromotionApproveView.as_view(),
        name="promotion-approve",
    ),
    path(
        "v1/models/<slug:name>/promotions/<int:id>/reject/",
        releases.PromotionRejectView.as_view(),
        name="promotion-reject",
    ),
    path("v1/webhooks/", events.WebhookListView.as_view(), name="webhook-list"),
    path("v1/webhooks/<int:id>/", events.WebhookDetailView.as_view(), name="webhook-detail"),
    path(
        "v1/webhooks/<int:id>/deliveries/",
        events.DeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
    path("v1/health/", HealthView.as_view(), name="health"),
    path("schema/", schema, name="schema"),
    # The split view serves its start-up script from this URL too (?script), so the page has
    # no inline script and the site's Content-Security-Policy (script-src 'self') holds.
    path("docs/", docs, name="docs"),
    # Anything else under /api/ (any characters, newlines too) is a JSON 404, not a page.
    re_path(r"^", not_found),
]
