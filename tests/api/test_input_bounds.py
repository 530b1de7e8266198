"""Inputs bounded before they cost anything: row counts from what a request declares, numbers
from URLs and bodies before the database, names before they are stored, and error messages
that repeat at most a little of what was sent.

Memory itself is measured on a real gunicorn worker in ``tests/api/test_upload_memory.py``.
"""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from registry.catalog.selectors import model_version_find, model_version_parse
from registry.models import Alias, ModelVersion, Prediction
from registry.predict.serving import served_version_find
from tests.api.conftest import ROW, error_of
from tests.api.test_oip import INFER, error_text, raw_post, tensors_of

HUGE = "9223372036854775808"  # 2**63: one past what SQLite's integer holds


@pytest.fixture
def few_rows(settings):
    settings.PORTAL = {**settings.PORTAL, "MAX_ROWS_PER_CALL": 3}


def test_a_version_number_past_any_database_is_a_404_on_every_face(
    clinic_version, analyst, manager
):
    body = json.dumps({"inputs": tensors_of([ROW])}).encode()
    for path in ("/v2/models/clinic/versions/{n}/infer", "/v2/models/clinic/versions/{n}"):
        message = error_text(
            raw_post(analyst, path.format(n=HUGE), body)
            if path.endswith("infer")
            else analyst.get(path.format(n=HUGE)),
            404,
        )
        assert f"has no version {HUGE}" in message
    error_of(analyst.get(f"/api/v1/models/clinic/versions/{HUGE}/"), 404, "not_found")
    error_of(
        analyst.post(
            "/api/v1/models/clinic/predict/",
            {"inputs": [ROW], "version": int(HUGE)},
            format="json",
        ),
        400,
        "invalid_input",
    )
    manager.force_login(manager.user)
    assert manager.get(f"/models/clinic/?version={HUGE}").status_code == 404
    assert manager.get(f"/models/clinic/?version=-{HUGE}").status_code == 404
    for find in (model_version_find, served_version_find):
        with pytest.raises(ModelVersion.DoesNotExist, match=f"has no version {HUGE}"):
            find(name="clinic", version=int(HUGE))


def test_a_3000_character_alias_is_refused_naming_the_limit(clinic_version, manager):
    long = "a" * 3000
    error = error_of(
        manager.put(f"/api/v1/models/clinic/aliases/{long}/", {"version": 1}, format="json"),
        400,
        "invalid_input",
    )
    assert error["fields"] == {"alias": ["Use at most 50 characters for an alias."]}
    assert not Alias.objects.filter(name=long).exists()


def test_an_error_repeats_at_most_80_characters_of_a_5_mb_value(clinic_version, analyst):
    big = "x" * 5_000_000
    response = analyst.post(
        "/api/v1/models/clinic/predict/", {"inputs": [{**ROW, "region": big}]}, format="json"
    )
    error = error_of(response, 400, "invalid_input")
    assert len(response.content) < 2_000
    assert error["message"].startswith(f"Row 0: region: Select a valid choice. '{'x' * 80}'…")
    unknown = analyst.post(
        "/api/v1/models/clinic/predict/", {"inputs": [{**ROW, big: 1}]}, format="json"
    )
    assert len(error_of(unknown, 400, "invalid_input")["message"]) < 200
    tensors = tensors_of([ROW])
    tensors[1]["data"] = [big]
    assert len(error_text(raw_post(analyst, INFER, json.dumps({"inputs": tensors}).encode()), 400))
    tensors[1]["name"] = big
    message = error_text(raw_post(analyst, INFER, json.dumps({"inputs": tensors}).encode()), 400)
    assert message.startswith(f"Tensor '{'x' * 80}'… is not an input of this model")
    assert len(message) < 300
    with pytest.raises(ValidationError) as refused:
        model_version_parse(spec="@" + big)
    assert len(refused.value.messages[0]) < 200


def test_dataframe_split_rows_are_counted_before_they_are_built(clinic_version, analyst, few_rows):
    response = analyst.post(
        "/api/v1/models/clinic/predict/",
        {"dataframe_split": {"columns": [], "data": [[]] * 4}},
        format="json",
    )
    error = error_of(response, 413, "payload_too_large")
    assert error["message"] == "Send at most 3 rows in one call."
    assert not Prediction.objects.exists()


def test_a_tensor_is_refused_by_its_declared_shape_before_its_data_is_read(
    clinic_version, analyst, few_rows
):
    # The shape says 4 rows; the data is not even a list: the shape alone refuses it.
    tensors = tensors_of([ROW])
    for tensor in tensors:
        tensor.update(shape=[4], data=None)
    response = raw_post(analyst, INFER, json.dumps({"inputs": tensors}).encode())
    assert error_text(response, 413).endswith("Send at most 3 rows in one call.")
    # Binary data whose size is not what the shape says is refused before it is decoded.
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "age",
                    "datatype": "INT64",
                    "shape": [2],
                    "parameters": {"binary_data_size": 24},
                }
            ]
        }
    ).encode()
    response = raw_post(
        analyst,
        INFER,
        header + bytes(24),
        HTTP_INFERENCE_HEADER_CONTENT_LENGTH=str(len(header)),
    )
    assert error_text(response, 400) == (
        "Tensor 'age': 24 bytes of INT64 is not the 2 rows its shape says."
    )
    assert not Prediction.objects.exists()
