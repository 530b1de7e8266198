"""The monitoring figures added for estimates and data quality, and the phone-friendly axes."""

from __future__ import annotations

import plotly.graph_objects as go

import charts


def test_hourly_traffic_is_drawn_on_a_time_axis_not_as_raw_keys():
    series = [
        {"start": f"2026-12-03T{h:02d}", "by_source": {"api": 3}, "refused": None, "p95_ms": 2.0}
        for h in range(18, 22)
    ]
    fig = charts.traffic(series, window="hour")
    go.Figure(fig)
    assert fig["layout"]["xaxis"]["type"] == "date"
    assert fig["data"][0]["x"][1] == "2026-12-03 19:00"
    # The legend sits above the plot, clear of the date ticks.
    assert fig["layout"]["legend"]["yanchor"] == "bottom" and fig["layout"]["legend"]["y"] > 1


def test_the_estimate_graph_has_its_band_feedback_and_reference():
    series = [
        {
            "start": "2026-12-01T00:00:00+00:00",
            "estimate": 0.8,
            "low": 0.75,
            "high": 0.85,
            "realized": 0.78,
            "rows": 300,
        },
        {
            "start": "2026-12-02T00:00:00+00:00",
            "estimate": None,
            "low": None,
            "high": None,
            "realized": None,
            "rows": 4,
        },
    ]
    fig = charts.estimated_performance(series, metric="accuracy", reference=0.9, method="CBPE")
    go.Figure(fig)
    names = [t.get("name") for t in fig["data"]]
    assert names[1:] == ["likely range (95%)", "estimated (CBPE)", "from feedback", "reference"]
    assert fig["data"][1]["fill"] == "tonexty"


def test_quality_small_multiples_draw_only_inputs_with_a_problem():
    point = {
        "start": "2026-12-01T00:00:00+00:00",
        "missing": 0.0,
        "out_of_range": 0.0,
        "unseen_categories": 0.0,
    }
    quality = [
        {"input": "bmi", "label": "BMI", "series": [{**point, "out_of_range": 0.1}]},
        {"input": "age", "label": "Age", "series": [point]},
    ]
    fig = charts.quality_rates(quality)
    go.Figure(fig)
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["BMI"]
    assert len(fig["data"]) == 3
