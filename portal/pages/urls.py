from django.urls import path

from portal.pages import actionability, aliases, batch, compare, fairness, releases
from portal.pages import monitoring as monitor
from portal.pages.catalog import catalog, dashboard, model_card
from portal.pages.history import (
    prediction_csv,
    prediction_detail,
    prediction_embed,
    prediction_list,
)
from portal.pages.profile import profile, token_reset
from portal.pages.register import model_register
from portal.pages.whatif import whatif

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("models/", catalog, name="catalog"),
    # Outside models/<name>/, so that no model's name can hide it.
    path("register/", model_register, name="model_register"),
    path("models/<slug:name>/", model_card, name="model_card"),
    path("models/<slug:name>/whatif/", whatif, name="whatif"),
    path("models/<slug:name>/batch/", batch.batch, name="batch"),
    path("jobs/", batch.job_list, name="job_list"),
    path("jobs/<uuid:id>/", batch.job_detail, name="job_detail"),
    path("jobs/<uuid:id>/result/", batch.job_result, name="job_result"),
    path("predictions/", prediction_list, name="prediction_list"),
    path("predictions/csv/", prediction_csv, name="prediction_csv"),
    path("predictions/<uuid:id>/", prediction_detail, name="prediction_detail"),
    path("embed/predictions/<uuid:id>/", prediction_embed, name="prediction_embed"),
    path("profile/", profile, name="profile"),
]
urlpatterns += [path("profile/token/", token_reset, name="token_reset")]

# Comparison, version diff and aliases (issue 5).
urlpatterns += [
    path("compare/", compare.compare, name="compare"),
    path("models/<slug:name>/diff/", compare.version_diff, name="version_diff"),
    path("models/<slug:name>/aliases/", aliases.alias_confirm, name="alias_choose"),
    path("models/<slug:name>/aliases/<slug:alias>/", aliases.alias_confirm, name="alias_confirm"),
]

# What a person can change about each input (issue 12).
urlpatterns += [
    path(
        "models/<slug:name>/actionability/",
        actionability.actionability_set,
        name="actionability_set",
    ),
]
# Monitoring (issue 13).
urlpatterns += [path("models/<slug:name>/monitor/", monitor.monitor, name="monitor")]
# Releases: four-eyes promotions (issue 21).
urlpatterns += [
    path("models/<slug:name>/promotions/", releases.promotion_ask, name="promotion_ask"),
    path(
        "models/<slug:name>/promotions/<int:id>/",
        releases.promotion_decide,
        name="promotion_decide",
    ),
]
# Fairness (issue 23).
urlpatterns += [path("models/<slug:name>/fairness/", fairness.fairness_set, name="fairness_set")]
