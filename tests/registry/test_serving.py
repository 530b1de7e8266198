"""The predict hot path answers exactly as the general path does.

Each shortcut is checked against what it replaces: the one-query caller and version lookups
against the ORM's, the one-block frame against the column-built one, the bare matrix against
the DataFrame (to the last bit), on real models.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.authtoken.models import Token
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from portal.web.auth import caller_find
from registry import inference, roles
from registry.catalog.selectors import model_version_resolve
from registry.catalog.services import alias_set, model_version_register, version_actionability_set
from registry.interface import Interface
from registry.models import ModelVersion
from registry.predict.services import prediction_run
from registry.predict.serving import served_version_find
from registry.runtime import version_cached, version_estimator, version_interface
from tests.conftest import csv_bytes


def _column_built(interface: Interface, rows: list[dict]) -> pd.DataFrame:
    """The frame as it was built before: one array per column, assembled by pandas."""
    data = {
        f.name: np.array([r.get(f.name) for r in rows], dtype=f.dtype) for f in interface.fields
    }
    return pd.DataFrame(data, columns=interface.names)


@pytest.mark.parametrize("kind", ["number", "integer"])
def test_a_one_block_frame_is_the_column_built_frame(kind):
    spec = {
        "inputs": [{"name": n, "type": kind} for n in ("a", "b", "c")],
        "output": {"task": "regression", "target": "y"},
    }
    interface = Interface(spec)
    rows = [{"a": 1, "b": 2, "c": 3}, {"a": 4, "b": -5, "c": 6}]
    frame = interface.validate(rows).frame
    pd.testing.assert_frame_equal(frame, _column_built(interface, rows))
    assert interface.validate(rows[:1]).frame.iloc[0].tolist() == [1, 2, 3]


def test_a_frame_with_a_missing_optional_number_keeps_nan():
    spec = {
        "inputs": [
            {"name": "a", "type": "number"},
            {"name": "b", "type": "number", "required": False},
        ],
        "output": {"task": "regression", "target": "y"},
    }
    frame = Interface(spec).validate([{"a": 1.5}, {"a": 2.0, "b": 3.0}]).frame
    assert frame.dtypes.tolist() == [np.float64, np.float64]
    assert np.isnan(frame["b"].iloc[0]) and frame["b"].iloc[1] == 3.0


def test_a_model_given_a_matrix_answers_exactly_as_given_the_dataframe(iris_version, iris_frame):
    estimator = version_estimator(iris_version)
    X = iris_frame.drop(columns="species")
    rows = X.to_dict(orient="records")
    answer = prediction_run(version=iris_version, rows=rows, user=None, source="api")
    assert inference._takes_matrix.get(estimator) is True
    expected = estimator.predict_proba(X)
    classes = [str(c) for c in estimator.classes_]
    got = np.array([[p["probabilities"][c] for c in classes] for p in answer.predictions])
    assert (got == expected.round(6)).all()
    for row, probabilities in zip(rows[:20], expected[:20], strict=True):
        one = prediction_run(version=iris_version, rows=[row], user=None, source="api")
        assert [one.predictions[0]["probabilities"][c] for c in classes] == probabilities.round(
            6
        ).tolist()


def test_a_model_that_picks_columns_by_name_keeps_the_dataframe(db, iris_frame):
    X, y = iris_frame.drop(columns="species"), iris_frame["species"]
    by_name = make_pipeline(
        ColumnTransformer([("scale", StandardScaler(), ["petal_length", "sepal_width"])]),
        LogisticRegression(max_iter=500),
    ).fit(X, y)
    version = model_version_register(
        name="iris-named",
        artifact=sio.dumps(by_name),
        reference=csv_bytes(iris_frame),
        target="species",
    )
    answer = prediction_run(
        version=version, rows=X.head(5).to_dict(orient="records"), user=None, source="api"
    )
    assert inference._takes_matrix.get(version_estimator(version)) is False
    assert [p["label"] for p in answer.predictions] == by_name.predict(X.head(5)).tolist()


def test_the_version_lookup_agrees_with_the_orms(clinic_version, clinic_forest_bytes, clinic_csv):
    second = model_version_register(
        name="clinic", artifact=clinic_forest_bytes, reference=clinic_csv, target="high_risk"
    )
    cases = [{}, {"version": 2}, {"version": 1}, {"alias": "champion"}]
    for choice in cases:
        assert (
            served_version_find(name="clinic", **choice).pk
            == model_version_resolve(name="clinic", **choice).pk
        )
    alias_set(model=clinic_version.model, name="champion", version=second)
    assert served_version_find(name="clinic").number == 2
    # No champion: the newest version that is not archived.
    clinic_version.model.aliases.all().delete()
    ModelVersion.objects.filter(pk=second.pk).update(archived_at=timezone.now())
    assert (
        served_version_find(name="clinic").number
        == model_version_resolve(name="clinic").number
        == 1
    )
    for choice, message in [
        ({"version": 7}, "Model 'clinic' has no version 7."),
        ({"alias": "staging"}, "Model 'clinic' has no alias 'staging'."),
    ]:
        with pytest.raises(ModelVersion.DoesNotExist, match=message):
            served_version_find(name="clinic", **choice)
    with pytest.raises(Exception, match="No model is named 'penguins'"):
        served_version_find(name="penguins")


def test_the_caller_lookup_reads_the_user_and_role_in_one_query(
    make_user, django_assert_num_queries
):
    ana = make_user("ana", "viewer")
    ana.groups.add(Group.objects.get_or_create(name=roles.ANALYST)[0])
    root = make_user("root", None, is_superuser=True)
    nobody = make_user("nobody", None)
    for user, role in ((ana, roles.ANALYST), (root, roles.MANAGER), (nobody, None)):
        key = Token.objects.create(user=user).key
        with django_assert_num_queries(1):
            found = caller_find(key=key)
            assert roles.role_of(found) == role
        assert (found.pk, found.username, found.is_active) == (user.pk, user.username, True)
    assert caller_find(key="no-such-key") is None


def test_one_row_is_validated_as_it_is_among_others(clinic_version):
    from registry.runtime import version_interface

    interface = version_interface(clinic_version)
    for row in (
        {"age": 50, "sex": "male", "bmi": 26.4, "bp": 93.0, "s5": 4.6, "region": "north"},
        {"age": "61", "sex": " female", "bmi": 99.5, "bp": 93, "s5": "4.6", "region": "east"},
    ):
        alone, among = interface.validate([row]), interface.validate([row, row])
        pd.testing.assert_frame_equal(alone.frame, among.frame.iloc[:1])
        assert alone.rows == among.rows[:1]
        assert alone.warnings == [w for w in among.warnings if w["row"] == 0]
    assert alone.warnings  # a bmi of 99.5 lies outside the training range


def test_a_changed_actionability_reaches_a_process_that_already_served_the_version(
    clinic_version,
):
    """What a process keeps of a version follows its revision: a manager's change of what is
    actionable holds on the next call, with no new version and no restart."""
    served = served_version_find(name="clinic")
    assert version_interface(served).by_name["age"].spec.get("actionable", True)
    explanation_before = version_cached(served, "probe", lambda: "built once")
    assert version_cached(served, "probe", lambda: "built twice") == explanation_before

    version_actionability_set(
        version=clinic_version, changes={"age": {"actionable": False}}, user=None
    )

    again = served_version_find(name="clinic")
    assert again.revision == served.revision + 1
    assert version_interface(again).by_name["age"].spec["actionable"] is False
    assert version_cached(again, "probe", lambda: "built again") == "built again"
