"""The embed page of a stored answer, and the profile page's API token."""

from __future__ import annotations

import re

from registry.models import Prediction
from registry.predict.services import prediction_run
from tests.portal.test_dashboard_page import CLINIC_ROW


# ------------------------------------------------------------------ embed and profile
def test_the_embed_stands_alone(as_analyst, analyst, clinic_version):
    answer = prediction_run(version=clinic_version, rows=[CLINIC_ROW], user=analyst, source="api")
    prediction = Prediction.objects.get(pk=answer.prediction.pk)
    html = as_analyst.get(f"/embed/predictions/{prediction.id}/").content.decode()
    assert "<h1>Clinic</h1>" in html
    assert "data-answer>" in html and "Version 1" in html
    assert "<dt>BMI</dt><dd>26.4" in html
    assert 'class="site-header"' not in html


def test_the_token_is_copied_and_replaced_only_after_a_confirmation(as_analyst):
    first = as_analyst.post("/profile/token/", follow=True).content.decode()
    assert "Your API token is ready" in first and "no longer works" not in first
    assert 'data-copy="#api-token"' in first
    key = re.search(r'id="api-token"', first) and re.search(r'value="(\w{40})"', first).group(1)
    # Shown once: a later visit shows only its last characters.
    later = as_analyst.get("/profile/").content.decode()
    assert key not in later and f"••••••••••••{key[-4:]}</code>" in later
    assert 'id="api-token"' not in later
    confirm = as_analyst.get("/profile/", {"replace": "1"}).content.decode()
    assert "data-confirm-replace" in confirm and key not in confirm
    second = as_analyst.post("/profile/token/", follow=True).content.decode()
    assert "the old one no longer works" in second and key not in second
    assert re.search(r'id="api-token"[^>]*|value="(\w{40})"', second)
