"""Estimated performance on the monitoring page: a sentence, one graph, how it is made."""

from __future__ import annotations

import pytest

from tests.monitoring_rows import answer_reference_rows, reference_rows, store_answers


@pytest.fixture
def answered(clinic_version, make_user):
    answer_reference_rows(clinic_version, make_user("caller"), 120)
    return clinic_version


def test_the_page_says_in_one_sentence_how_the_model_is_expected_to_do(client, viewer, answered):
    client.force_login(viewer)
    html = client.get("/models/clinic/monitor/").content.decode()
    section = html[html.index("data-estimated-performance") :]
    assert "Without waiting for outcomes: over the last" in section
    assert "right" in section and "% of the time" in section
    assert "data-plotly" in section[: section.index("</section>")]
    assert "How this is estimated" in section


def test_without_labelled_reference_rows_the_page_says_why(client, viewer, iris_version):
    iris_version.reference_sample = [
        {k: v for k, v in r.items() if k != "species"} for r in iris_version.reference_sample
    ]
    iris_version.save(update_fields=["reference_sample"])
    client.force_login(viewer)
    html = client.get("/models/iris/monitor/").content.decode()
    assert "No estimate: this version was registered without at least 50 labelled" in html


def test_the_page_has_a_data_quality_table_and_its_small_multiples(client, viewer, clinic_version):
    rows = reference_rows(clinic_version, 150)
    for row in rows[:30]:
        row["bmi"] = 80.0
    store_answers(clinic_version, rows)
    client.force_login(viewer)
    html = client.get("/models/clinic/monitor/").content.decode()
    table = html[html.index("data-quality") :]
    assert "Outside training range" in table and "20.0%" in table
    assert "Share of rows missing, outside the training range" in html
