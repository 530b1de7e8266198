"""URLs of the Open Inference Protocol (v2, REST), under /v2 (no trailing slashes)."""

from django.urls import path

from portal.v2 import views

app_name = "v2"

# Mounted at "v2/" so no route starts with a slash (urls.W002); "GET /v2" itself, without
# one, is matched in portal/urls.py.
urlpatterns = [
    path("health/live", views.health_live, name="live"),
    path("health/ready", views.health_ready, name="ready"),
    path("models/<slug:name>", views.model_metadata, name="model"),
    path("models/<slug:name>/ready", views.model_ready, name="model-ready"),
    path("models/<slug:name>/infer", views.infer, name="infer"),
    path("models/<slug:name>/versions/<int:number>", views.model_metadata, name="version"),
    path(
        "models/<slug:name>/versions/<int:number>/ready",
        views.model_ready,
        name="version-ready",
    ),
    path("models/<slug:name>/versions/<int:number>/infer", views.infer, name="version-infer"),
]
