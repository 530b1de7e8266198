"""The interface from the model itself (issue 20, part 4): every category a fitted encoder
was trained on is offered and answered, however few rows come with the model; with no rows at
all the model's own names, categories and ranges make the form; the notes say where each came
from."""

import io

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder
from skops import io as sio

from registry.catalog.services import model_version_register
from registry.known import known_inputs
from registry.predict.services import prediction_run
from registry.runtime import version_interface

pytestmark = pytest.mark.django_db

RNG = np.random.default_rng(3)
N = 240
PENGUINS = pd.DataFrame(
    {
        "island": RNG.choice(["Biscoe", "Dream", "Torgersen"], N),
        "sex": RNG.choice(["female", "male"], N),
        "bill_length_mm": RNG.normal(44, 5, N).round(1),
        "flipper_length_mm": RNG.normal(200, 14, N).round(0),
    }
)
SPECIES = np.where(PENGUINS["island"] == "Biscoe", "Gentoo", "Adelie")


def _penguin_model():
    prepare = ColumnTransformer(
        [
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="error"),
                ),
                ["island", "sex"],
            ),
            ("num", MinMaxScaler(), ["bill_length_mm", "flipper_length_mm"]),
        ]
    )
    return Pipeline([("prep", prepare), ("model", LogisticRegression(max_iter=500))]).fit(
        PENGUINS, SPECIES
    )


def _csv(frame: pd.DataFrame) -> bytes:
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue().encode()


def test_every_trained_category_is_offered_and_answered_though_the_rows_lack_it(make_user):
    thin = PENGUINS[PENGUINS["island"] != "Biscoe"].head(3)
    version = model_version_register(
        name="penguins", artifact=sio.dumps(_penguin_model()), reference=_csv(thin)
    )
    interface = version_interface(version)
    assert interface.by_name["island"].choices == ["Biscoe", "Dream", "Torgersen"]
    # The imputer's fill value is not a category anyone would pick.
    assert interface.by_name["sex"].choices == ["female", "male"]
    # The sliders span what the model saw, not the three rows.
    flipper = interface.by_name["flipper_length_mm"].spec
    assert flipper["observed_min"] == PENGUINS["flipper_length_mm"].min()
    assert flipper["observed_max"] == PENGUINS["flipper_length_mm"].max()
    assert "Choices of island from OneHotEncoder.categories_ in step 'prep' > 'cat'" in (
        version.notes
    )
    assert "Slider range of " in version.notes and "MinMaxScaler" in version.notes
    # The imputer's missing_values=nan is stored (JSON has no NaN; it made a 500 before).
    assert version.params["prep__cat__simpleimputer__missing_values"] == "nan"

    row = {"island": "Biscoe", "sex": "male", "bill_length_mm": 47.0, "flipper_length_mm": 215}
    answer = prediction_run(version=version, rows=[row], user=make_user(), source="api")
    assert answer.predictions[0]["label"] == "Gentoo"


def test_without_rows_the_model_alone_gives_the_form(make_user):
    version = model_version_register(name="penguins", artifact=sio.dumps(_penguin_model()))
    inputs = {i["name"]: i for i in version.interface["inputs"]}
    assert list(inputs) == ["island", "sex", "bill_length_mm", "flipper_length_mm"]
    assert inputs["island"]["type"] == "category"
    assert inputs["island"]["choices"] == ["Biscoe", "Dream", "Torgersen"]
    bill = inputs["bill_length_mm"]
    assert bill["type"] == "number"
    assert bill["observed_min"] <= bill["default"] <= bill["observed_max"]
    assert bill["observed_min"] == PENGUINS["bill_length_mm"].min()
    assert version.interface["output"]["classes"] == ["Adelie", "Gentoo"]
    assert "Interface from the model itself" in version.notes
    answer = prediction_run(
        version=version,
        rows=[version_interface(version).defaults()],
        user=make_user(),
        source="api",
    )
    assert answer.predictions[0]["label"] in ("Adelie", "Gentoo")


def test_without_rows_a_model_that_knows_too_little_is_refused_naming_the_inputs():
    # Numbers straight into the model: it knows their names, not their ranges.
    bare = LogisticRegression().fit(PENGUINS[["bill_length_mm", "flipper_length_mm"]], SPECIES)
    with pytest.raises(ValidationError) as refused:
        model_version_register(name="bare", artifact=sio.dumps(bare))
    message = " ".join(refused.value.messages)
    assert "bill_length_mm, flipper_length_mm" in message
    assert "reference data" in message


def test_encoders_are_followed_by_name_index_and_remainder():
    frame = PENGUINS.assign(rank=RNG.integers(1, 4, N))
    prepare = ColumnTransformer(
        [("ord", OrdinalEncoder(), [0]), ("hot", OneHotEncoder(), ["sex"])],
        remainder=MinMaxScaler(),
    )
    model = make_pipeline(prepare, LogisticRegression(max_iter=500)).fit(frame, SPECIES)
    known = known_inputs(model)
    assert known["island"].choices == ("Biscoe", "Dream", "Torgersen")
    assert known["sex"].choices == ("female", "male")
    assert known["rank"].low == frame["rank"].min() and known["rank"].high == frame["rank"].max()


def test_the_card_of_a_version_without_rows_says_so_and_where_its_form_came_from(client, make_user):
    model_version_register(name="penguins", artifact=sio.dumps(_penguin_model()))
    client.force_login(make_user("vera", "viewer"))
    page = client.get("/models/penguins/").content.decode()
    assert "None given: no metrics" in page
    assert "0 rows held out" not in page
    assert "Choices of island, sex from OneHotEncoder.categories_" in page


# ---------------------------------------------------------------- boosters without rows
def test_an_xgboost_regressor_without_rows_spans_every_split_from_its_thresholds(make_user):
    import xgboost

    from tests import kinds_models as km

    frame = km.diabetes_frame()
    booster = km.xgboost_regressor(frame)
    version = model_version_register(name="progression-xgb", artifact=km.booster_json(booster))
    inputs = {i["name"]: i for i in version.interface["inputs"]}
    assert list(inputs) == list(frame.columns.drop("progression"))
    # XGBoost's own reading of its trees, independent of the portal's check of the JSON.
    splits = booster.trees_to_dataframe().query("Feature != 'Leaf'").groupby("Feature")["Split"]
    used = splits.agg(["min", "max"])
    for name, spec in inputs.items():
        assert spec["type"] == "number"
        assert spec["observed_min"] < used.loc[name, "min"] <= used.loc[name, "max"]
        assert used.loc[name, "max"] < spec["observed_max"]
        assert spec["observed_min"] <= spec["default"] <= spec["observed_max"]
    assert "XGBoost's split thresholds" in version.notes
    assert "Interface from the model itself" in version.notes

    row = version_interface(version).defaults()
    answer = prediction_run(version=version, rows=[row], user=make_user(), source="api")
    own = booster.predict(xgboost.DMatrix(pd.DataFrame([row])[list(inputs)]))
    assert answer.predictions[0]["value"] == pytest.approx(float(own[0]), rel=1e-9)


def test_a_lightgbm_regressor_without_rows_spans_its_training_range(make_user):
    from tests import kinds_models as km

    frame = km.diabetes_frame()
    booster = km.lightgbm_regressor(frame)
    version = model_version_register(name="progression-lgb", artifact=km.lightgbm_text(booster))
    inputs = {i["name"]: i for i in version.interface["inputs"]}
    assert list(inputs) == list(frame.columns.drop("progression"))
    for name, spec in inputs.items():
        assert spec["observed_min"] == pytest.approx(frame[name].min(), rel=1e-9)
        assert spec["observed_max"] == pytest.approx(frame[name].max(), rel=1e-9)
    assert "LightGBM's feature_infos (the training range)" in version.notes
    row = version_interface(version).defaults()
    answer = prediction_run(version=version, rows=[row], user=make_user(), source="api")
    own = booster.predict(pd.DataFrame([row])[list(inputs)].to_numpy(dtype="float64"))
    assert answer.predictions[0]["value"] == pytest.approx(float(own[0]), rel=1e-9)


def test_a_booster_without_rows_that_cannot_say_its_inputs_or_classes_is_refused():
    import xgboost

    from tests import kinds_models as km

    frame = km.diabetes_frame()
    # Trained on a bare matrix: XGBoost records no input names.
    data = xgboost.DMatrix(frame.drop(columns="progression").to_numpy(), frame["progression"])
    nameless = xgboost.train({"max_depth": 2, "nthread": 1}, data, num_boost_round=3)
    with pytest.raises(ValidationError) as refused:
        model_version_register(name="nameless", artifact=km.booster_json(nameless))
    assert "does not record its input names" in " ".join(refused.value.messages)
    iris = km.iris_frame()
    # A classifier knows class indices, not names.
    with pytest.raises(ValidationError) as unlabelled:
        model_version_register(
            name="unlabelled", artifact=km.lightgbm_text(km.lightgbm_classifier(iris))
        )
    assert "knows class indices only" in " ".join(unlabelled.value.messages)


@pytest.mark.parametrize(
    "infos",
    ["[-1e308:1e308]", "[nan:1]", "[3:1]", "[1:2:3]", "[inf:inf]"],
    ids=["too-wide", "nan", "reversed", "three-parts", "infinite"],
)
def test_a_crafted_lightgbm_range_is_never_a_slider_nor_a_crash(infos):
    from tests import kinds_models as km

    frame = km.diabetes_frame()
    text = km.lightgbm_text(km.lightgbm_regressor(frame)).decode()
    header, _, rest = text.partition("feature_infos=")
    _, _, others = rest.partition(" ")
    crafted = f"{header}feature_infos={infos} {others}".encode()
    with pytest.raises(ValidationError) as refused:
        model_version_register(name="crafted", artifact=crafted)
    message = " ".join(refused.value.messages)
    assert f"knows neither categories nor a range for {frame.columns[0]}" in message
