"""The pages on native model kinds: the card says what the model is and where its class
labels came from; the what-if page and the comparison page answer as for scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from registry.catalog.services import model_version_register
from tests import kinds_models as km
from tests.conftest import csv_bytes
from tests.portal.test_pages import figures

ROW = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}


@pytest.fixture
def lightgbm_version(db):
    iris = km.iris_frame()
    booster = km.lightgbm_classifier(iris)
    version = model_version_register(
        name="flowers-lgb",
        artifact=km.lightgbm_text(booster),
        reference=csv_bytes(iris),
        target="species",
    )
    return version, booster


def test_the_card_names_the_kind_and_where_the_classes_came_from(as_analyst, lightgbm_version):
    html = as_analyst.get("/models/flowers-lgb/").content.decode()
    assert "lightgbm 4." in html
    assert "from the reference data&#x27;s target &#x27;species&#x27;, sorted" in html
    assert "lightgbm.Booster" in html


def test_the_whatif_page_answers_as_lightgbm(as_analyst, lightgbm_version):
    _, booster = lightgbm_version
    response = as_analyst.get("/models/flowers-lgb/whatif/", ROW)
    assert response.status_code == 200
    answer = figures(response)[0]["data"][0]
    expected = booster.predict(np.array([list(ROW.values())]))[0]
    assert answer["x"] == pytest.approx(list(expected), abs=1e-6)
    assert figures(response)[1]["data"][0]["type"] == "waterfall"


def test_the_compare_page_puts_a_booster_beside_scikit_learn(
    as_analyst, lightgbm_version, iris_version
):
    response = as_analyst.get("/compare/", {"m": ["flowers-lgb", "iris"], **ROW})
    assert response.status_code == 200, response.content[:500]
    html = response.content.decode()
    assert "flowers-lgb@1" in html and "iris@1" in html
    assert figures(response)  # both models answered and were drawn
