"""The release's figures are valid Plotly and show what the shadow comparison holds."""

from __future__ import annotations

import plotly.graph_objects as go

from charts import latency_side_by_side, shadow_agreement

SERIES = [
    {"start": "2026-12-04T22:00:00+00:00", "compared": 40, "agreement": 0.95},
    {"start": "2026-12-04T23:00:00+00:00", "compared": 12, "agreement": 0.75},
]


def test_agreement_over_time_draws_the_share_and_the_answers_compared():
    fig = shadow_agreement(SERIES, classifier=True)
    go.Figure(fig)
    bars, line = fig["data"]
    assert bars["y"] == [40, 12] and line["y"] == [0.95, 0.75]
    assert fig["layout"]["yaxis"]["tickformat"] == ".0%"


def test_a_regressor_shows_the_mean_difference():
    series = [{**s, "mean_difference": 3.5} for s in SERIES]
    fig = shadow_agreement(series, classifier=False)
    go.Figure(fig)
    assert fig["data"][1]["y"] == [3.5, 3.5] and "tickformat" not in fig["layout"]["yaxis"]


def test_latency_side_by_side_groups_each_percentile():
    fig = latency_side_by_side(
        {"champion": {"p50": 1.2, "p99": 4.0}, "shadow": {"p50": 2.0, "p99": None}}
    )
    go.Figure(fig)
    assert [t["name"] for t in fig["data"]] == ["champion", "shadow"]
    assert fig["data"][1]["y"] == [2.0, None]
