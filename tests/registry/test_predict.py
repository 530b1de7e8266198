import pandas as pd
import pytest
from django.core.exceptions import ValidationError

from registry.catalog.selectors import model_version_select
from registry.catalog.services import alias_remove, alias_set, model_version_register
from registry.explain.selectors import explanation_build
from registry.inference import grid, sweep
from registry.interface import InvalidInput
from registry.limits import PayloadTooLarge
from registry.models import Alias, AuditEvent, ModelVersion, Prediction, Usage
from registry.predict.services import prediction_feedback_set, prediction_run
from registry.runtime import version_estimator, version_interface

ROW = {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93.0, "s5": 4.6, "region": "north"}


def test_a_prediction_is_answered_and_stored(clinic_version, clinic_forest, make_user):
    user = make_user()
    answer = prediction_run(version=clinic_version, rows=[ROW], user=user, source="api")
    expected = clinic_forest.predict_proba(pd.DataFrame([ROW]))[0]
    assert answer.predictions[0]["probabilities"] == {
        "no": pytest.approx(expected[0], abs=1e-6),
        "yes": pytest.approx(expected[1], abs=1e-6),
    }
    assert answer.predictions[0]["label"] == ("yes" if expected[1] > expected[0] else "no")
    stored = Prediction.objects.get()
    assert stored == answer.prediction
    assert (stored.user, stored.source, stored.row_count) == (user, "api", 1)
    assert stored.inputs == [ROW] and stored.outputs == answer.predictions
    assert stored.latency_ms > 0


def test_a_regression_answers_values(diabetes_version):
    answer = prediction_run(
        version=diabetes_version,
        rows=[{"age": 50, "bmi": 30, "bp": 90}] * 3,
        user=None,
        source="api",
    )
    assert len(answer.predictions) == 3
    assert set(answer.predictions[0]) == {"value"}


def test_refused_rows_store_nothing(clinic_version):
    with pytest.raises(InvalidInput) as caught:
        prediction_run(
            version=clinic_version, rows=[ROW, {**ROW, "sex": "x"}], user=None, source="api"
        )
    assert list(caught.value.as_fields()) == ["1"]
    assert not Prediction.objects.exists()


def test_too_many_rows_are_refused(clinic_version, settings):
    settings.PORTAL = {**settings.PORTAL, "MAX_ROWS_PER_CALL": 2}
    with pytest.raises(PayloadTooLarge):
        prediction_run(version=clinic_version, rows=[ROW] * 3, user=None, source="api")
    assert not Prediction.objects.exists()


def test_a_whatif_redraw_is_counted_not_stored(clinic_version):
    for _ in range(3):
        prediction_run(version=clinic_version, rows=[ROW], user=None, source="page", store=False)
    assert not Prediction.objects.exists()
    assert Usage.objects.get(version=clinic_version, kind="whatif").count == 3


def test_outside_the_training_range_answers_with_a_warning(clinic_version):
    answer = prediction_run(
        version=clinic_version, rows=[{**ROW, "bmi": 80}], user=None, source="api"
    )
    assert answer.warnings[0]["field"] == "bmi"
    assert Prediction.objects.get().warnings == answer.warnings


def test_feedback_is_checked_and_kept(clinic_version):
    answer = prediction_run(version=clinic_version, rows=[ROW], user=None, source="api")
    with pytest.raises(ValidationError):
        prediction_feedback_set(prediction=answer.prediction, actual="maybe")
    prediction_feedback_set(prediction=answer.prediction, actual="yes")
    answer.prediction.refresh_from_db()
    assert answer.prediction.feedback == "yes" and answer.prediction.feedback_at


def test_version_selection_follows_version_then_alias_then_champion_then_newest(
    clinic_forest_bytes, clinic_csv, db
):
    v1 = model_version_register(name="m", artifact=clinic_forest_bytes, reference=clinic_csv)
    v2 = model_version_register(name="m", artifact=clinic_forest_bytes, reference=clinic_csv)
    model = v1.model
    assert model_version_select(model=model) == v2  # newest
    alias_set(model=model, name="champion", version=v1)
    assert model_version_select(model=model) == v1  # champion
    alias_set(model=model, name="challenger", version=v2)
    assert model_version_select(model=model, alias="challenger") == v2
    assert model_version_select(model=model, version=2, alias="champion") == v2
    with pytest.raises(ModelVersion.DoesNotExist, match="no version 9"):
        model_version_select(model=model, version=9)
    with pytest.raises(ModelVersion.DoesNotExist, match="no alias 'gold'"):
        model_version_select(model=model, alias="gold")


def test_alias_changes_are_audited(clinic_version, iris_version, make_user):
    manager = make_user("mia", "manager")
    model = clinic_version.model
    alias_set(model=model, name="challenger", version=clinic_version, user=manager)
    alias_remove(model=model, name="challenger", user=manager)
    events = AuditEvent.objects.filter(model=model, actor=manager).order_by("created_at")
    assert [(e.action, e.details["alias"]) for e in events] == [
        ("alias.set", "challenger"),
        ("alias.removed", "challenger"),
    ]
    assert not Alias.objects.filter(model=model, name="challenger").exists()
    with pytest.raises(ValidationError):
        alias_set(model=model, name="champion", version=iris_version)


def test_a_sweep_moves_each_input_in_one_batch(clinic_version, clinic_forest, monkeypatch):
    interface = version_interface(clinic_version)
    estimator = version_estimator(clinic_version)
    calls = []
    # Counted where the rows enter the model: its preparation step sees each batch once
    # (the forest's trees are asked in one loop, registry/forests.py, not by predict_proba).
    prepare = type(estimator.steps[0][1])
    original = prepare.transform
    monkeypatch.setattr(
        prepare, "transform", lambda self, X, **kw: calls.append(len(X)) or original(self, X, **kw)
    )
    row = interface.validate([ROW]).frame
    curves = sweep(estimator, interface, row, points=10)
    assert [c["feature"] for c in curves] == interface.names
    bmi = next(c for c in curves if c["feature"] == "bmi")
    assert len(bmi["values"]) == 10 and bmi["current"] == 26.4
    assert bmi["values"][0] == interface.by_name["bmi"].observed_min
    region = next(c for c in curves if c["feature"] == "region")
    assert region["values"] == ["east", "north", "south"]
    assert calls == [sum(len(c["values"]) for c in curves)]  # one call for everything
    # Each point is what the model says for that row with that one input changed.
    direct = clinic_forest.predict_proba(interface.validate([{**ROW, "region": "east"}]).frame)[0][
        1
    ]
    assert region["predictions"][0]["yes"] == pytest.approx(direct, abs=1e-6)


def test_a_grid_covers_two_inputs(diabetes_version):
    interface = version_interface(diabetes_version)
    row = interface.validate([{"age": 50, "bmi": 30, "bp": 90}]).frame
    result = grid(version_estimator(diabetes_version), interface, row, x="bmi", y="age", points=5)
    assert len(result["z"]) == len(result["y_values"]) and len(result["z"][0]) == 5


def test_a_whatif_answers_sweeps_and_grids_without_storing(clinic_version):
    from registry.predict.services import whatif_run

    result = whatif_run(
        version=clinic_version, row=ROW, user=None, source="page", points=7, pair=("bmi", "age")
    )
    assert result.answer.predictions[0]["label"] in ("yes", "no")
    assert len(result.curves) == 6
    assert len(result.grid["z"][0]) == 7
    assert not Prediction.objects.exists()


def test_a_whatif_refuses_unknown_features_and_silly_point_counts(clinic_version):
    from registry.predict.services import whatif_run

    with pytest.raises(ValidationError, match="Unknown input: colour"):
        whatif_run(version=clinic_version, row=ROW, user=None, source="api", features=["colour"])
    with pytest.raises(ValidationError, match="between 2 and"):
        whatif_run(version=clinic_version, row=ROW, user=None, source="api", points=1000)


def test_a_value_the_model_cannot_take_is_refused_not_a_crash(clinic_version):
    from registry.inference import ModelCannotAnswer

    with pytest.raises(ModelCannotAnswer, match="could not answer"):
        prediction_run(
            version=clinic_version, rows=[{**ROW, "bmi": 1e308}], user=None, source="api"
        )
    assert not Prediction.objects.exists()


def test_an_answer_that_is_not_finite_is_refused_naming_the_row(diabetes_version):
    rows = [{"age": 50, "bmi": 30, "bp": 90}, {"age": 50, "bmi": 1e308, "bp": 1e308}]
    with pytest.raises(InvalidInput) as caught:
        prediction_run(version=diabetes_version, rows=rows, user=None, source="api")
    assert list(caught.value.as_fields()) == ["1"]
    assert not Prediction.objects.exists()


def test_feedback_refuses_a_number_that_is_not_finite(diabetes_version):
    answer = prediction_run(
        version=diabetes_version, rows=[{"age": 50, "bmi": 30, "bp": 90}], user=None, source="api"
    )
    with pytest.raises(ValidationError, match="finite"):
        prediction_feedback_set(prediction=answer.prediction, actual="nan")


def test_stored_inputs_are_the_typed_values(clinic_version):
    answer = prediction_run(
        version=clinic_version, rows=[{k: str(v) for k, v in ROW.items()}], user=None, source="api"
    )
    assert answer.prediction.inputs == [ROW]


@pytest.mark.parametrize("model", ["clinic", "iris", "diabetes"])
def test_a_whatif_in_one_model_call_answers_as_the_separate_calls_do(
    model, clinic_version, iris_version, diabetes_version
):
    """The what-if asks the model once for its answer, sweep, grid and explanation rows; each
    must be exactly what the call of its own gives (the path the page took before)."""
    from registry.predict.services import whatif_run

    version, row, pair = {
        "clinic": (clinic_version, ROW, ("bmi", "sex")),
        "iris": (
            iris_version,
            {"sepal_length": 5.1, "sepal_width": 3.0, "petal_length": 4.2, "petal_width": 1.3},
            ("petal_length", "petal_width"),
        ),
        "diabetes": (diabetes_version, {"age": 50, "bmi": 30, "bp": 90}, ("bmi", "age")),
    }[model]
    interface = version_interface(version)
    estimator = version_estimator(version)
    result = whatif_run(
        version=version, row=row, user=None, source="page", points=9, pair=pair, explain=True
    )
    alone = prediction_run(version=version, rows=[row], user=None, source="page", store=False)
    assert result.answer.predictions == alone.predictions
    frame = interface.validate([row]).frame
    assert result.curves == sweep(estimator, interface, frame, points=9)
    label = alone.predictions[0].get("label")
    assert result.grid == grid(
        estimator, interface, frame, x=pair[0], y=pair[1], points=9, target_class=label
    )
    assert result.explanation == explanation_build(version=version, row=row)
    assert result.explanation.summary


def test_a_whatif_explains_the_class_asked_for(clinic_version):
    from registry.predict.services import whatif_run

    for wanted in ("yes", "no"):
        result = whatif_run(
            version=clinic_version,
            row=ROW,
            user=None,
            source="page",
            explain=True,
            explain_class=wanted,
        )
        assert result.explanation.target_class == wanted
        assert result.explanation == explanation_build(
            version=clinic_version, row=ROW, target_class=wanted
        )
