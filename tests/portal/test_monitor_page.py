"""The monitoring page: pickers, the drifted input first and marked, status on the tiles."""

from __future__ import annotations

import pytest

from registry.models import Source
from tests.monitoring_rows import reference_rows, store_answers


def _store_shifted(version, n=300, shift=3.0, source=Source.API):
    rows = reference_rows(version, n)
    for row in rows:
        row["bmi"] = round(row["bmi"] + shift, 1)
    store_answers(version, rows, source=source, ages=[i % 48 for i in range(n)])


@pytest.fixture
def as_viewer(client, viewer):
    client.force_login(viewer)
    return client


def test_the_page_shows_the_drifted_input_first_and_marked(as_viewer, clinic_version):
    _store_shifted(clinic_version)
    response = as_viewer.get("/models/clinic/monitor/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "drift in 1 input" in html
    rows = html[html.index("<tbody>") :]
    # Inputs are named by their interface labels, the drifted one first.
    assert rows.index(">BMI<") < min(rows.index(f">{n}<") for n in ("Age", "BP", "S5"))
    assert 'class="drifted"' in rows[: rows.index(">Age<")]
    assert 'data-input="bmi"' in html and "card input-drift drifted" in html


def test_the_period_source_and_segment_pickers_narrow_the_page(as_viewer, clinic_version):
    _store_shifted(clinic_version, source=Source.PAGE)
    default = as_viewer.get("/models/clinic/monitor/").content.decode()
    assert "not enough data" in default  # what-if exploration is not traffic
    pages = as_viewer.get("/models/clinic/monitor/?source=page&days=7&segment=region:north")
    html = pages.content.decode()
    assert pages.status_code == 200
    assert "with region = north" in html
    assert '<option value="region:north" selected>' in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("days=5", "Choose one of the periods offered."),
        ("days=abc", "Choose one of the periods offered."),
        ("source=email", "Unknown source"),
        ("segment=region:atlantis", "is not one of the choices of region"),
    ],
)
def test_a_bad_picker_value_is_explained_not_a_500(as_viewer, clinic_version, query, message):
    response = as_viewer.get(f"/models/clinic/monitor/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_catalog_and_model_card_link_to_the_monitor_with_its_status(as_viewer, clinic_version):
    _store_shifted(clinic_version)
    for url in ("/models/", "/"):
        html = as_viewer.get(url).content.decode()
        assert 'href="/models/clinic/monitor/"' in html
        assert "drift in 1 input" in html
    card = as_viewer.get("/models/clinic/").content.decode()
    assert "/models/clinic/monitor/?version=1" in card


def test_a_model_without_answers_says_so_instead_of_empty_charts(as_viewer, clinic_version):
    html = as_viewer.get("/models/clinic/monitor/").content.decode()
    assert "not enough data" in html
    assert "Too little traffic to judge the inputs: 0 answers" in html and "p50" not in html
    assert "data-no-traffic" in html and "data-no-rows" in html
    assert "drift-table" not in html and "data-plotly" not in html


def test_the_drift_heatmap_names_inputs_by_label_and_keeps_the_code_name(as_viewer, clinic_version):
    _store_shifted(clinic_version)
    response = as_viewer.get("/models/clinic/monitor/")
    heat = response.context["figures"]["drift_over_time"]["data"][0]
    assert heat["y"][0] == "BMI" and "bmi" not in heat["y"]
    assert {"Age", "BP", "S5"} <= set(heat["y"])
    assert all("(bmi)" in text for text in heat["text"][0])  # the hover names the column
