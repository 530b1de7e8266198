"""Firing alerts on the catalog's tiles and the model card."""

from __future__ import annotations

from registry.alerts.services import alert_rule_create, alerts_evaluate_all
from tests.monitoring_rows import reference_rows, store_answers


def test_a_firing_alert_shows_on_the_tile_and_the_card(client, viewer, clinic_version):
    alert_rule_create(model=clinic_version.model, when="drift", user=None)
    rows = reference_rows(clinic_version, 300)
    for row in rows:
        row["bmi"] = round(row["bmi"] + 6, 1)
    store_answers(clinic_version, rows)
    assert alerts_evaluate_all()["fired"] == 1
    client.force_login(viewer)
    catalog = client.get("/models/").content.decode()
    assert "⚠ 1 firing" in catalog
    card = client.get("/models/clinic/").content.decode()
    assert "Alerts firing" in card and "Input drift" in card and "BMI" in card
