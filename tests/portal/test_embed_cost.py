"""A share link's embed is open to anyone: it explains from what was kept, and each address
may open embeds only so often."""

from __future__ import annotations

import pytest

from portal.web.sharing import share_token
from registry.models import Prediction
from registry.predict.services import prediction_run

ROW = {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93.0, "s5": 4.6, "region": "north"}


@pytest.fixture
def link(make_user, clinic_version):
    analyst = make_user("ana", "analyst")
    prediction = prediction_run(
        version=clinic_version, rows=[ROW], user=analyst, source="api"
    ).prediction
    return prediction, f"/embed/predictions/{prediction.id}/?s={share_token(prediction)}"


def test_an_embed_explains_once_then_reads_what_was_kept(client, link):
    prediction, url = link
    first = client.get(url)
    assert first.status_code == 200
    kept = Prediction.objects.get(pk=prediction.pk).explanation
    assert kept["summary"] and kept["summary"] in first.content.decode()
    effects = sum(c["effect"] for c in kept["contributions"])
    assert kept["baseline"] + effects == pytest.approx(kept["answer"], abs=1e-6)
    # What the next view shows is what was kept, not a new computation.
    Prediction.objects.filter(pk=prediction.pk).update(
        explanation={**kept, "summary": "Kept with the prediction."}
    )
    assert "Kept with the prediction." in client.get(url).content.decode()


def test_the_prediction_page_keeps_the_explanation_its_embed_shows(client, link, make_user):
    prediction, url = link
    client.force_login(prediction.user)
    assert client.get(f"/predictions/{prediction.id}/").status_code == 200
    kept = Prediction.objects.get(pk=prediction.pk).explanation
    client.logout()
    assert kept["summary"] in client.get(url).content.decode()


def test_a_several_row_answer_keeps_that_it_has_no_explanation(client, make_user, clinic_version):
    analyst = make_user("ana", "analyst")
    prediction = prediction_run(
        version=clinic_version, rows=[ROW, ROW], user=analyst, source="api"
    ).prediction
    url = f"/embed/predictions/{prediction.id}/?s={share_token(prediction)}"
    assert client.get(url).status_code == 200
    assert Prediction.objects.get(pk=prediction.pk).explanation == {}


def test_embeds_are_throttled_per_address(client, link, settings, make_user):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"embeds": "3/min"},
    }
    _, url = link
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(url)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    # A login does not lift it (the budget is the address's); another address has its own.
    client.force_login(make_user("vic", "viewer"))
    assert client.get(url).status_code == 429
    assert client.get(url, REMOTE_ADDR="198.51.100.7").status_code == 200
