"""Share links of stored answers: revoked, expired, or gone with their answer."""

import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import signing

from portal.web import sharing
from registry.predict.services import prediction_run
from tests.portal.test_roles_on_pages import ROW


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
