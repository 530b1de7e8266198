"""Pages hold the same line as the API: a login without a role reads nothing."""

import os
import re
import secrets
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import signing

from portal import settings as settings_module
from portal import sharing
from registry.predict.services import prediction_run

ROW = {"age": "50", "sex": "male", "bmi": "26.4", "bp": "93", "s5": "4.6", "region": "north"}

PAGES = ["/", "/models/", "/models/clinic/", "/models/clinic/diff/?a=1&b=1", "/predictions/"]


@pytest.mark.parametrize("url", PAGES)
def test_a_user_in_no_group_is_refused_every_page(client, make_user, clinic_version, url):
    client.force_login(make_user("nobody", role=None))
    response = client.get(url)
    assert response.status_code == 403
    assert b"viewer role" in response.content


@pytest.mark.parametrize("url", PAGES)
def test_a_viewer_reads_the_same_pages(client, make_user, clinic_version, url):
    client.force_login(make_user("vic", "viewer"))
    assert client.get(url).status_code == 200


def _share_link(client, prediction) -> str:
    detail = client.get(f"/predictions/{prediction.id}/").content.decode()
    return re.search(r'value="http://testserver(/embed/predictions/[^"]+)"', detail).group(1)


@pytest.fixture
def shared(client, make_user, clinic_version):
    """An analyst's stored prediction, its share link, and a client logged in as them."""
    analyst = make_user("ana", "analyst")
    client.force_login(analyst)
    p = prediction_run(version=clinic_version, rows=[ROW], user=analyst, source="page").prediction
    return p, _share_link(client, p), client


def test_a_share_link_to_a_deleted_prediction_is_a_404(shared):
    prediction, link, client = shared
    prediction.delete()
    client.logout()
    assert client.get(link).status_code == 404


def test_resetting_the_share_link_revokes_the_old_one(shared):
    prediction, link, client = shared
    response = client.post(f"/predictions/{prediction.id}/", {"action": "share_reset"})
    assert response.status_code == 302
    new_link = _share_link(client, prediction)
    client.logout()
    assert new_link != link
    assert client.get(link).status_code == 404
    assert client.get(new_link).status_code == 200


def test_a_share_link_expires(shared, settings):
    prediction, link, client = shared
    client.logout()
    token = parse_qs(urlparse(link).query)["s"][0]
    # The same link as if made two hours ago: same key and salt, an older timestamp.
    old = signing.b62_encode(int(time.time()) - 7200)
    value = f"{prediction.id}.{prediction.share_key}"
    aged = signing.Signer.sign(sharing._signer, f"{value}:{old}")[len(value) + 1 :]
    assert aged != token
    aged_link = f"/embed/predictions/{prediction.id}/?s={aged}"
    assert client.get(aged_link).status_code == 200
    settings.PORTAL = {**settings.PORTAL, "EMBED_LINK_MAX_AGE": 3600}
    response = client.get(aged_link)
    assert response.status_code == 404 and b"expired" in response.content
    assert client.get(link).status_code == 200


def _production_env() -> dict[str, str]:
    """The variables the README's production section exports, with its placeholders filled."""
    readme = (settings_module.BASE_DIR / "README.md").read_text()
    block = re.search(r"```sh\n# production\n(.*?)```", readme, re.S).group(1)
    env = {}
    for name, value in re.findall(r"^export (\w+)=(\S+)", block, re.M):
        env[name] = value
    return env


def test_check_deploy_with_the_readme_production_settings_warns_nothing(tmp_path):
    env = _production_env()
    assert {"SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE"} <= set(env)
    env["SECRET_KEY"] = secrets.token_urlsafe(50)  # the README says: a long random value
    env.pop("DATABASE_URL", None)  # the check needs no database server
    env.update(PATH=os.environ["PATH"], DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="")
    env.pop("DJANGO_SETTINGS_MODULE")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings_module.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


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
