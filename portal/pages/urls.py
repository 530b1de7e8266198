from django.urls import path

from portal.pages import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
