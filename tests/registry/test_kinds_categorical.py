"""A LightGBM booster trained on pandas categories (issue 20): its categories are checked,
offered in the form (from its own pandas_categorical, not only the rows at hand), and each
text answered with the code LightGBM was trained on, as LightGBM answers a DataFrame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from registry.artifacts.errors import ArtifactError
from registry.catalog.services import model_version_register
from registry.inference import score
from registry.interface import InvalidInput
from registry.kinds import native_from_bytes
from registry.runtime import version_estimator, version_interface
from tests.conftest import csv_bytes

RNG = np.random.default_rng(5)
FRAME = pd.DataFrame(
    {
        "size": RNG.normal(size=400).round(3),
        "colour": pd.Categorical(RNG.choice(["red", "green", "blue"], 400)),
    }
)
LABEL = np.where(FRAME["size"] + (FRAME["colour"] == "red") > 0.4, "big", "small")


@pytest.fixture(scope="module")
def booster():
    import lightgbm

    params = {"objective": "binary", "verbose": -1, "seed": 0, "min_data_per_group": 5}
    codes = (LABEL == "small").astype(int)  # index 1: "small", the second sorted label
    return lightgbm.train(params, lightgbm.Dataset(FRAME, codes), num_boost_round=20)


@pytest.mark.django_db
def test_a_categorical_booster_registers_offers_its_categories_and_answers_as_lightgbm(booster):
    # The reference rows show two of the three colours.
    rows = FRAME.astype({"colour": object}).assign(label=LABEL)
    thin = rows[rows["colour"] != "blue"].head(60)
    version = model_version_register(
        name="sizes",
        artifact=booster.model_to_string().encode(),
        reference=csv_bytes(thin),
        target="label",
    )
    interface = version_interface(version)
    assert interface.by_name["colour"].choices == ["blue", "green", "red"]
    assert "Choices of colour from LightGBM's pandas_categorical" in version.notes

    asked = rows.iloc[::9][["size", "colour"]]
    scores = score(
        version_estimator(version), interface.validate(asked.to_dict("records")), interface
    )
    own = booster.predict(FRAME.iloc[::9][["size", "colour"]])
    np.testing.assert_allclose(scores.probabilities[:, 1], own, rtol=1e-9, atol=0)
    with pytest.raises(InvalidInput) as refused:
        interface.validate([{"size": 0.1, "colour": "purple"}])
    assert "colour" in str(refused.value)


@pytest.mark.parametrize(
    ("categorical", "expected"),
    [
        ("null", "1 categorical features but no pandas_categorical"),
        ('[["red", "green", "blue"], ["x"]]', "does not give the categories of the 1"),
        ('[[{"a": 1}]]', "holds something other than text or numbers"),
        ('[["red", "red"]]', "names a category twice"),
        ("[[]]", "is not a list of categories"),
    ],
)
def test_a_crafted_pandas_categorical_is_refused_in_one_line(booster, categorical, expected):
    text = booster.model_to_string()
    head, _, _ = text.rpartition("pandas_categorical:")
    with pytest.raises(ArtifactError) as refused:
        native_from_bytes(f"{head}pandas_categorical:{categorical}\n".encode())
    assert expected in str(refused.value)
    assert "\n" not in str(refused.value)
