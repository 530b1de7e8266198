"""Pages spend the same row budgets as the API: a what-if redraw scores its sweeps, a saved
scenario stores a row."""

from __future__ import annotations

from registry.models import Prediction

ROW = {"age": "50", "sex": "male", "bmi": "26.4", "bp": "93", "s5": "4.6", "region": "north"}


def test_a_whatif_redraw_is_charged_the_rows_its_sweeps_score(as_analyst, clinic_version, rates):
    # One redraw: the row and 6 inputs x 25 points = 151 rows; two fit in 310, not three.
    rates(model_rows="310/hour")
    url = "/models/clinic/whatif/"
    assert [as_analyst.get(url, ROW).status_code for _ in range(2)] == [200, 200]
    refused = as_analyst.get(url, ROW)
    assert refused.status_code == 429
    assert "at most 310 per hour" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0


def test_a_saved_scenario_counts_against_the_daily_quota(as_analyst, clinic_version, settings):
    settings.PORTAL = {**settings.PORTAL, "DAILY_STORED_ROWS": 1}
    url = "/models/clinic/whatif/"
    assert as_analyst.post(url, ROW).status_code == 302
    refused = as_analyst.post(url, ROW)
    assert refused.status_code == 429
    assert "at most 1 stored rows per user a day" in refused.content.decode()
    assert as_analyst.get(url, ROW).status_code == 200  # a redraw stores nothing
    assert Prediction.objects.count() == 1
