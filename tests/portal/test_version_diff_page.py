"""The version diff page: interface, parameter and metric differences of two versions."""

from __future__ import annotations

import re

import pytest

from tests.portal.test_compare_page import links, query


def test_it_shows_the_three_kinds_of_difference(as_analyst, clinic_lite_v2):
    response = as_analyst.get("/models/clinic/diff/", {"a": 1, "b": 2})
    assert response.status_code == 200
    html = response.content.decode()
    rows = dict(
        re.findall(r'<tr data-input="(\w+)">.*?<span class="badge[^"]*">(\w+)</span>', html, re.S)
    )
    assert rows == {
        "age": "changed",
        "bmi": "changed",
        "bp": "changed",
        "region": "changed",
        "sex": "removed",
        "s5": "removed",
    }
    assert "accepts west too; no longer accepts east" in html
    assert "Input &#x27;sex&#x27; was removed." in html  # v1 -> v2
    assert "Input &#x27;sex&#x27; was added (required)." in html  # and back
    # Parameters in words, the scikit-learn name on hover.
    assert (
        '<td title="randomforestclassifier__n_estimators">Random forest › number of trees</td>'
        in html
    )
    accuracy = re.search(r"<tr data-metric=\"accuracy\">(.*?)</tr>", html, re.S).group(1)
    a, b, delta = re.findall(r'class="num">([^<]+)</td>', accuracy)
    v1, v2 = (v.metrics["accuracy"] for v in clinic_lite_v2.model.versions.order_by("number"))
    assert (a, b) == (f"{v1:.3g}", f"{v2:.3g}")
    assert delta == f"{'+' if v2 > v1 else ''}{v2 - v1:.3g}"
    verdict = "better" if v2 > v1 + 5e-4 else "worse" if v2 < v1 - 5e-4 else "the same"
    assert verdict in re.search(r"<td data-verdict>(.*?)</td>", accuracy).group(1)
    (compare,) = links(response, r"^/compare/")
    assert query(compare)["m"] == ["clinic@1", "clinic@2"]


def test_by_default_it_diffs_the_newest_version_with_its_parent(as_analyst, clinic_lite_v2):
    html = as_analyst.get("/models/clinic/diff/").content.decode()
    assert "v1 → v2" in html


@pytest.mark.parametrize("params", [{"a": 1, "b": 9}, {"a": "x", "b": 2}])
def test_an_unknown_version_is_404(as_analyst, clinic_lite_v2, params):
    assert as_analyst.get("/models/clinic/diff/", params).status_code == 404
    assert as_analyst.get("/models/nope/diff/").status_code == 404


def test_a_viewer_may_read_it(client, viewer, clinic_lite_v2):
    client.force_login(viewer)
    response = client.get("/models/clinic/diff/", {"a": 2, "b": 1})
    assert response.status_code == 200
    assert links(response, r"^/compare/") == []  # comparing answers needs the analyst role
