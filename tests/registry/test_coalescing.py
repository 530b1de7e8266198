"""Calls that arrive while a model is busy are answered together, each as it would be alone.

The models are real (the conftest's pipelines). To make calls arrive while the model is busy,
a thin wrapper holds the model's first call until the others are in line, and notes the
size of every batch the model is asked to answer.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

from registry.inference import ModelCannotAnswer, score
from registry.interface import InvalidInput
from registry.models import Prediction
from registry.predict import coalescing
from registry.predict.coalescing import score_coalesced
from registry.predict.services import prediction_run
from registry.runtime import version_estimator, version_interface


class Held:
    """A model that notes every batch's size; once armed, its next call waits for
    ``release``."""

    def __init__(self, model):
        self.model = model
        self.classes_ = getattr(model, "classes_", None)
        self.sizes: list[int] = []
        self.armed = False
        self.release = threading.Event()
        self.entered = threading.Event()

    def arm(self) -> None:
        self.sizes, self.armed = [], True

    def _hold(self, X) -> None:
        self.sizes.append(len(X))
        if self.armed:
            self.armed = False
            self.entered.set()
            assert self.release.wait(10)

    def predict_proba(self, X):
        self._hold(X)
        return self.model.predict_proba(X)

    def predict(self, X):
        self._hold(X)
        return self.model.predict(X)


def in_threads(held: Held, interface, row_sets: list[list[dict]]) -> list:
    """Score the first row set, and the others while the model holds it; each outcome (the
    scores or the exception) in the order of ``row_sets``."""
    held.arm()
    outcomes: list = [None] * len(row_sets)

    def call(i: int) -> None:
        try:
            outcomes[i] = score_coalesced(held, interface.validate(row_sets[i]), interface)
        except Exception as exc:
            outcomes[i] = exc

    first = threading.Thread(target=call, args=(0,))
    first.start()
    assert held.entered.wait(10)
    others = [threading.Thread(target=call, args=(i,)) for i in range(1, len(row_sets))]
    for thread in others:
        thread.start()
    line = coalescing._lines[held]
    deadline = time.monotonic() + 10
    while len(line.waiting) < len(others) and time.monotonic() < deadline:
        time.sleep(0.005)
    held.release.set()
    for thread in [first, *others]:
        thread.join(10)
    return outcomes


def rows_of(version, n: int, start: int = 0) -> list[dict]:
    names = version_interface(version).names
    return [{k: r[k] for k in names} for r in version.reference_sample[start : start + n]]


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", ["clinic_version", "iris_version", "diabetes_version"])
def test_waiting_calls_are_one_batch_with_the_answers_each_gets_alone(request, fixture):
    version = request.getfixturevalue(fixture)
    interface, model = version_interface(version), version_estimator(version)
    row_sets = [rows_of(version, 1, 0), *(rows_of(version, n, 10 * n) for n in (1, 3, 2, 1))]
    alone = [score(model, interface.validate(rows), interface) for rows in row_sets]
    held = Held(model)
    score(held, interface.validate(row_sets[0]), interface)  # a first call decides matrix or frame

    together = in_threads(held, interface, row_sets)

    # The first call alone; the four that waited, 7 rows, in one call into the model.
    assert held.sizes == [1, 7]
    for got, expected in zip(together, alone, strict=True):
        assert got.records() == expected.records()
        answers = "values" if interface.task == "regression" else "probabilities"
        if fixture == "clinic_version":  # a forest: each tree answers each row alone
            assert np.array_equal(getattr(got, answers), getattr(expected, answers))
        # A matrix product of several rows may round its last bit differently than of one.
        np.testing.assert_allclose(
            getattr(got, answers), getattr(expected, answers), rtol=1e-12, atol=1e-15
        )


@pytest.mark.django_db
def test_a_row_without_a_finite_answer_fails_only_its_own_call(diabetes_version):
    interface = version_interface(diabetes_version)
    held = Held(version_estimator(diabetes_version))
    good = rows_of(diabetes_version, 1)
    huge = [dict(good[0], bmi=1e308), dict(good[0], bmi=1e308)]  # overflows to infinity
    score(held, interface.validate(good), interface)  # a first call decides matrix or frame

    first, fine, refused, also_fine = in_threads(held, interface, [good, good, huge, good])

    assert held.sizes == [1, 4]
    # A matrix product of several rows may round its last bit differently than of one.
    for other in (fine, also_fine):
        np.testing.assert_allclose(other.values, first.values, rtol=1e-12, atol=1e-15)
    assert isinstance(refused, InvalidInput)
    assert sorted(refused.row_errors) == [0, 1]  # its own rows, counted from its own first


@pytest.mark.django_db
def test_when_the_model_raises_on_a_batch_the_error_goes_to_the_call_that_caused_it(
    clinic_version,
):
    interface = version_interface(clinic_version)
    held = Held(version_estimator(clinic_version))
    good = rows_of(clinic_version, 1)
    # Scaled, 1e40 is beyond float32, which the forest works in: the model raises.
    beyond = [dict(good[0], bmi=1e40)]

    first, fine, refused, also_fine = in_threads(held, interface, [good, good, beyond, good])

    # The batch of three failed, so each was asked again alone.
    assert held.sizes == [1, 3, 1, 1, 1]
    assert first.records() == fine.records() == also_fine.records()
    assert isinstance(refused, ModelCannotAnswer)
    assert "could not answer" in str(refused)


@pytest.mark.django_db
def test_a_large_call_is_answered_alone_at_once(iris_version):
    interface = version_interface(iris_version)
    held = Held(version_estimator(iris_version))
    rows = rows_of(iris_version, coalescing.MAX_ROWS_PER_CALL + 1)

    got = score_coalesced(held, interface.validate(rows), interface)

    assert len(got.records()) == len(rows)
    assert held not in coalescing._lines  # it never joined a line


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_are_each_answered_rightly_and_stored(clinic_version, clinic_forest):
    rows = rows_of(clinic_version, 24)
    answers: dict[int, dict] = {}
    failures: list[BaseException] = []

    def client(offset: int) -> None:
        try:
            for i in range(offset, len(rows), 6):
                answer = prediction_run(
                    version=clinic_version, rows=[rows[i]], user=None, source="api"
                )
                answers[i] = (answer.prediction.pk, answer.predictions[0])
        except BaseException as exc:  # a failure in a thread must fail the test
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert not failures
    expected = clinic_forest.predict_proba(pd.DataFrame(rows))
    for i, (pk, answer) in answers.items():
        assert answer["probabilities"]["yes"] == pytest.approx(expected[i][1], abs=1e-6)
        stored = Prediction.objects.get(pk=pk)
        assert stored.inputs == [rows[i]] and stored.outputs == [answer]
    assert len(answers) == Prediction.objects.count() == len(rows)
