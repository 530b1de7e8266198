"""charts.svg draws every figure builder's output as well-formed, standalone vector SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from charts.svg import to_svg
from tests.portal.test_plotly_bundle import SAMPLES, builders

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("builder", sorted(SAMPLES))
def test_every_figure_becomes_well_formed_svg(builder):
    function = builders()[builder]
    for make in SAMPLES[builder]:
        fig = make(function)
        root = ET.fromstring(to_svg(fig))
        assert root.tag == f"{SVG}svg"
        heading = (fig["layout"].get("title") or {}).get("text")
        texts = [t.text for t in root.iter(f"{SVG}text")]
        if heading:
            assert heading.replace("<br>", " ") in texts
        # Only vector elements: nothing raster, nothing scripted.
        assert not list(root.iter(f"{SVG}image")) and not list(root.iter(f"{SVG}script"))


def test_bars_carry_their_intervals_and_skip_undefined_values():
    fig = builders()["fairness.group_bars"](
        [
            {"group": "a", "value": 0.5, "interval": [0.4, 0.6], "small": False},
            {"group": "b", "value": None, "interval": None, "small": True},
        ],
        heading="h",
        axis_title="x",
    )
    root = ET.fromstring(to_svg(fig))
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("fill") not in ("#ffffff",)]
    assert len(bars) == 1  # no bar for an undefined value
    lines = list(root.iter(f"{SVG}line"))
    assert any(line.get("x1") == line.get("x2") for line in lines)  # the interval's whisker


def test_text_is_escaped():
    fig = builders()["fairness.recourse_bars"](
        [{"group": "<b>&", "rows": 1, "found": 1, "median_cost": 1.0}], heading="a < b & c"
    )
    root = ET.fromstring(to_svg(fig))
    assert "a < b & c" in [t.text for t in root.iter(f"{SVG}text")]
