from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal.lockout import AdminLoginForm, LoginForm
from portal.v2 import views as v2_views

admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "accounts/login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include("portal.api.urls")),
    path("v2", v2_views.server_metadata, name="v2-server"),
    path("v2/", include("portal.v2.urls")),
    path("", include("portal.pages.urls")),
]

# A database outage is a 503 to retry, not a 500 (portal/outage.py).
handler500 = "portal.outage.server_error"
