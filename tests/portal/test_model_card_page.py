"""The model card says plainly what a version is and what promoting it means."""

from __future__ import annotations

import re

import skops.io as sio
from sklearn.dummy import DummyClassifier

from registry.catalog.services import model_version_register
from tests.conftest import csv_bytes
from tests.portal.test_pages import figures


# ------------------------------------------------------------------ model card and diff
def test_the_model_card_speaks_plainly(as_analyst, clinic_version):
    response = as_analyst.get("/models/clinic/")
    html = response.content.decode()
    assert "<dt>Method</dt><dd>Random forest classifier" in html
    assert "ROC AUC<br><span" in html and "0.5 is a coin toss" in html
    assert "<th>Unit</th>" not in html and "<th>Limits</th>" not in html  # nothing fills them
    drawn = figures(response)
    titles = [f["layout"].get("title", {}).get("text") for f in drawn]
    assert "Metrics on reference data" not in titles  # the table says it
    importance = drawn[titles.index("Which inputs matter")]
    assert "BMI" in importance["data"][0]["y"]  # the interface's label, not "bmi"
    assert "Make challenger" not in html  # v1 is the champion and the only version


def test_promoting_a_worse_version_says_so(client, manager, clinic_version, clinic_frame):
    X, y = clinic_frame.drop(columns="high_risk"), clinic_frame["high_risk"]
    worse = DummyClassifier(strategy="most_frequent").fit(X, y)
    model_version_register(
        name="clinic",
        artifact=sio.dumps(worse),
        reference=csv_bytes(clinic_frame),
        target="high_risk",
    )
    client.force_login(manager)
    html = client.get("/models/clinic/aliases/champion/", {"version": 2}).content.decode()
    warning = re.search(r"data-metric-warning><strong>(.*?)</strong>", html).group(1)
    assert re.fullmatch(r"v2 is worse than v1 on (every metric|\d+ of \d+ metrics)\.", warning)
