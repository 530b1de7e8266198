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


# ---------------------------------------------------------------- XGBoost (3.1 and later)
@pytest.fixture(scope="module")
def xgb_booster():
    import xgboost

    codes = (LABEL == "small").astype(int)
    data = xgboost.DMatrix(FRAME, codes, enable_categorical=True)
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 3}
    return xgboost.train({**params, "nthread": 1, "seed": 0}, data, num_boost_round=20)


def _xgb_document(booster) -> dict:
    import json

    return json.loads(bytes(booster.save_raw(raw_format="json")))


@pytest.mark.django_db
def test_an_xgboost_categorical_booster_offers_its_recorded_categories_and_answers_as_xgboost(
    xgb_booster,
):
    import xgboost

    rows = FRAME.astype({"colour": object}).assign(label=LABEL)
    thin = rows[rows["colour"] != "blue"].head(60)
    version = model_version_register(
        name="sizes-xgb",
        artifact=bytes(xgb_booster.save_raw(raw_format="ubj")),
        reference=csv_bytes(thin),
        target="label",
    )
    interface = version_interface(version)
    assert interface.by_name["colour"].choices == ["blue", "green", "red"]
    assert "Choices of colour from XGBoost's recorded categories" in version.notes

    asked = rows.iloc[::7][["size", "colour"]]
    scores = score(
        version_estimator(version), interface.validate(asked.to_dict("records")), interface
    )
    # XGBoost's own answer to the DataFrame with pandas categories it was trained on.
    own = xgb_booster.inplace_predict(FRAME.iloc[::7][["size", "colour"]])
    np.testing.assert_allclose(scores.probabilities[:, 1], own, rtol=1e-9, atol=0)
    with pytest.raises(InvalidInput) as refused:
        interface.validate([{"size": 0.1, "colour": "purple"}])
    assert "colour" in str(refused.value)
    assert xgboost  # imported: the library the comparison is with


def _edit(doc: dict, change) -> bytes:
    import copy
    import json

    doc = copy.deepcopy(doc)
    change(doc["learner"]["gradient_booster"]["model"], doc)
    return json.dumps(doc).encode()


def _first_split_tree(model):
    return next(t for t in model["trees"] if t.get("categories_nodes"))


CRAFTED = {
    "offsets past the values": (
        lambda m, d: m["cats"]["enc"][1]["offsets"].__setitem__(-1, 10**6),
        "offsets do not cut",
    ),
    "not a character": (
        lambda m, d: m["cats"]["enc"][1]["values"].__setitem__(0, 0xD800),
        "not a Unicode character",
    ),
    "segments disagree": (
        lambda m, d: m["cats"].__setitem__("feature_segments", [0, 0, 5]),
        "feature_segments gives",
    ),
    "sorted_idx out of range": (
        lambda m, d: m["cats"].__setitem__("sorted_idx", [0, 1, 7]),
        "is not an order of its categories",
    ),
    "sorted_idx unsorted": (
        lambda m, d: m["cats"].__setitem__("sorted_idx", [2, 1, 0]),
        "does not sort its categories",
    ),
    "categories dropped": (
        lambda m, d: m.__setitem__("cats", {}),
        "records no categories",
    ),
    "code beyond the categories": (
        lambda m, d: _first_split_tree(m)["categories"].__setitem__(0, 3),
        "beyond input 1's 3 categories",
    ),
    "categorical split on a number": (
        lambda m, d: _first_split_tree(m)["split_indices"].__setitem__(
            _first_split_tree(m)["categories_nodes"][0], 0
        ),
        "which has no categories",
    ),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_a_crafted_xgboost_category_record_is_refused_in_one_line(xgb_booster, case):
    change, expected = CRAFTED[case]
    with pytest.raises(ArtifactError) as refused:
        native_from_bytes(_edit(_xgb_document(xgb_booster), change))
    assert expected in str(refused.value)
    assert "\n" not in str(refused.value)


XGBOOST_CATEGORICAL_LOAD = """
import sys, pandas as pd, xgboost
booster = xgboost.Booster(model_file=sys.argv[1])
rows = pd.DataFrame({"size": [0.1, 0.2], "colour": pd.Categorical(["red", "blue"])})
print(booster.inplace_predict(rows))
"""


@pytest.mark.parametrize("case", ["offsets past the values", "sorted_idx out of range"])
def test_a_crafted_category_record_aborts_xgboost_unchecked_and_is_refused_here(
    xgb_booster, case, tmp_path
):
    from tests.registry.test_kinds_hostile import ABORT, native_outcome

    change, expected = CRAFTED[case]
    path = tmp_path / "crafted.json"
    path.write_bytes(_edit(_xgb_document(xgb_booster), change))
    assert native_outcome(XGBOOST_CATEGORICAL_LOAD, path) == ABORT
    with pytest.raises(ArtifactError) as refused:
        native_from_bytes(path.read_bytes())
    assert expected in str(refused.value)
