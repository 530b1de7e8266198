"""The error matrix: every refusal is a 4xx in the one error shape, and nothing is stored."""

import json
import logging

import pytest
from rest_framework.exceptions import ErrorDetail

from portal.web.errors import exception_handler
from registry.models import Prediction
from tests.api.conftest import ROW, error_of

PREDICT = "/api/v1/models/clinic/predict/"


@pytest.fixture
def nothing_stored(db):
    yield
    assert not Prediction.objects.exists()


def post_text(client, text: str, path: str = PREDICT, content_type: str = "application/json"):
    """Send a body exactly as written, as a client in another language might."""
    return client.generic("POST", path, text.encode(), content_type=content_type)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"inputs": [{**ROW, "colour": "red"}]}, {"0": {"colour": ["Unknown field."]}}),
        (
            {"inputs": [{k: v for k, v in ROW.items() if k != "bmi"}]},
            {"0": {"bmi": ["This field is required."]}},
        ),
        ({"inputs": [ROW, {**ROW, "bmi": "heavy"}]}, {"1": {"bmi": ["Enter a number."]}}),
        ({"inputs": [{**ROW, "age": 50.5}]}, {"0": {"age": ["Enter a whole number."]}}),
        ({"inputs": [{**ROW, "sex": True}]}, None),
        ({"inputs": [{**ROW, "region": "west"}]}, None),
        ({"inputs": []}, {"0": {"inputs": ["Send at least one row."]}}),
        ({"inputs": {"age": 50}}, {"0": {"inputs": ["Send a list of rows, each an object."]}}),
        (
            {"inputs": [[50, "male"]]},
            {"0": {"inputs": ["Each row must be an object of field: value."]}},
        ),
        ({"dataframe_records": [{**ROW, "bp": None}]}, {"0": {"bp": ["This field is required."]}}),
    ],
    ids=[
        "unknown-field",
        "missing-field",
        "wrong-type",
        "not-whole",
        "bool-for-category",
        "unknown-category",
        "empty-list",
        "not-a-list",
        "row-not-object",
        "null",
    ],
)
def test_rows_that_do_not_fit_the_interface_are_invalid_input(
    clinic_version, analyst, nothing_stored, body, fields
):
    error = error_of(analyst.post(PREDICT, body, format="json"), 400, "invalid_input")
    if fields is not None:
        assert error["fields"] == fields
    row, field = next(iter(error["fields"].items()))
    assert error["message"].startswith(f"Row {row}: {next(iter(field))}")


def test_an_unknown_category_names_the_choices(clinic_version, analyst, nothing_stored):
    error = error_of(
        analyst.post(PREDICT, {"inputs": [{**ROW, "region": "west"}]}, format="json"),
        400,
        "invalid_input",
    )
    assert error["fields"]["0"]["region"] == [
        "Select a valid choice. 'west' is not one of: east, north, south."
    ]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity_are_refused_not_stored(clinic_version, analyst, nothing_stored, literal):
    text = json.dumps({"inputs": [ROW]}).replace("26.4", literal)
    error = error_of(post_text(analyst, text), 400, "invalid_input")
    assert error["fields"] == {
        "0": {"bmi": ["Enter a finite number (NaN and infinity are not allowed)."]}
    }


def test_nan_in_many_rows_names_the_rows(clinic_version, analyst, nothing_stored):
    rows = [ROW] * 20
    text = json.dumps({"inputs": rows})
    text = text[::-1].replace("4.62", "NaN"[::-1], 1)[::-1]  # the last row's bmi
    error = error_of(post_text(analyst, text), 400, "invalid_input")
    assert list(error["fields"]) == ["19"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/v1/models/nope/predict/", "No model is named 'nope'."),
        (PREDICT + "?version=9", "Model 'clinic' has no version 9."),
        (PREDICT + "?alias=gold", "Model 'clinic' has no alias 'gold'."),
    ],
)
def test_an_unknown_model_version_or_alias_is_not_found(
    clinic_version, analyst, nothing_stored, path, message
):
    response = analyst.post(path, {"inputs": [ROW]}, format="json")
    assert error_of(response, 404, "not_found")["message"] == message


def test_too_many_rows_are_payload_too_large(clinic_version, analyst, settings, nothing_stored):
    settings.PORTAL = {**settings.PORTAL, "MAX_ROWS_PER_CALL": 3}
    error = error_of(
        analyst.post(PREDICT, {"inputs": [ROW] * 4}, format="json"), 413, "payload_too_large"
    )
    assert error["fields"] == {"inputs": ["Send at most 3 rows in one call."]}


def test_a_body_over_the_size_limit_is_payload_too_large(
    clinic_version, analyst, settings, nothing_stored
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    error_of(analyst.post(PREDICT, {"inputs": [ROW] * 20}, format="json"), 413, "payload_too_large")


@pytest.mark.parametrize(
    "text",
    ['{"inputs": [', "{'inputs': []}", "", "\xff\xfe", '{"inputs": [{"age": 1' + "0" * 30 + "}]}"],
)
def test_malformed_json_is_invalid_input(clinic_version, analyst, nothing_stored, text):
    error = error_of(post_text(analyst, text), 400, "invalid_input")
    assert error["message"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_wrong_content_type_is_unsupported(clinic_version, analyst, nothing_stored, content_type):
    response = post_text(analyst, json.dumps({"inputs": [ROW]}), content_type=content_type)
    error = error_of(response, 415, "unsupported_media_type")
    assert content_type in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "inputs"),
        ({"inputs": [ROW], "dataframe_records": [ROW]}, "inputs"),
        ({"dataframe_split": {"columns": ["age"], "data": [[1, 2]]}}, "dataframe_split"),
        ({"dataframe_split": {"columns": ["age", "age"], "data": []}}, "dataframe_split"),
        ({"dataframe_split": [1, 2]}, "dataframe_split"),
        ({"inputs": [ROW], "version": "two"}, "version"),
        ({"inputs": [ROW], "version": 0}, "version"),
        ({"inputs": [ROW], "alias": "not an alias"}, "alias"),
        ({"inputs": [ROW], "chart": "perhaps"}, "chart"),
    ],
)
def test_a_body_of_the_wrong_shape_is_invalid_input(
    clinic_version, analyst, nothing_stored, body, field
):
    error = error_of(analyst.post(PREDICT, body, format="json"), 400, "invalid_input")
    assert list(error["fields"]) == [field]
    assert error["message"].startswith(field)


def test_a_wrong_method_is_405_in_the_same_shape(clinic_version, analyst):
    error_of(analyst.get(PREDICT), 405, "method_not_allowed")


def test_an_unexpected_error_is_logged_and_answered_500_without_a_traceback(caplog):
    with caplog.at_level(logging.ERROR, logger="portal.api"):
        response = exception_handler(RuntimeError("secret detail"), {"view": None})
    assert response.status_code == 500
    assert response.data == {
        "error": {
            "code": "server_error",
            "message": "Something went wrong on our side; it has been logged.",
            "fields": {},
        }
    }
    assert "secret detail" not in json.dumps(response.data)
    assert "RuntimeError: secret detail" in caplog.text


def test_nested_validation_errors_keep_their_path():
    from rest_framework.exceptions import ValidationError

    response = exception_handler(
        ValidationError({"models": {"1": [ErrorDetail("Too long.", "max_length")]}}), {}
    )
    assert response.data["error"]["message"] == "models.1: Too long."
