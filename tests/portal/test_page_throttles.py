"""Pages spend the same per-user budgets as the API."""

from tests.portal.test_roles_on_pages import ROW


def test_whatif_redraws_share_the_users_model_call_budget_with_the_api(
    client, make_user, clinic_version, settings
):
    from rest_framework.authtoken.models import Token

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"model_calls": "3/day", "batch_uploads": "1/day"},
    }
    analyst = make_user("ana", "analyst")
    client.force_login(analyst)
    assert client.get("/models/clinic/whatif/", ROW).status_code == 200
    redraw = client.get("/models/clinic/whatif/", ROW, headers={"HX-Request": "true"})
    assert redraw.status_code == 200
    token = Token.objects.create(user=analyst).key
    api = client.post(
        "/api/v1/models/clinic/predict/",
        {"inputs": [ROW]},
        content_type="application/json",
        headers={"Authorization": f"Token {token}"},
    )
    assert api.status_code == 200
    refused = client.get("/models/clinic/whatif/", ROW)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert b"Too many requests" in refused.content
    assert client.get("/compare/?m=clinic@1&m=clinic@1").status_code == 429


def test_batch_uploads_from_the_page_are_throttled(client, make_user, clinic_version, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"model_calls": "100/day", "batch_uploads": "1/day"},
    }
    client.force_login(make_user("ana", "analyst"))
    data = b"age,sex,bmi,bp,s5,region\n50,male,26.4,93,4.6,north\n"

    def upload():
        file = SimpleUploadedFile("rows.csv", data, content_type="text/csv")
        return client.post("/models/clinic/batch/", {"file": file})

    assert upload().status_code == 302
    assert client.get("/models/clinic/batch/").status_code == 200  # looking is free
    assert upload().status_code == 429
