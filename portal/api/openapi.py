"""OpenAPI pieces that DRF's fields cannot describe: JSON shapes and request examples."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

from registry.interface import INPUT_TYPES, TASKS

ANY: dict = {}
OBJECT = {"type": "object", "additionalProperties": ANY}
ROW = {
    "type": "object",
    "additionalProperties": ANY,
    "description": "One row: input name to value, as the model's interface declares.",
}
ROWS = {"type": "array", "minItems": 1, "items": ROW}
DATAFRAME_SPLIT = {
    "type": "object",
    "properties": {
        "columns": {"type": "array", "items": {"type": "string"}},
        "data": {"type": "array", "items": {"type": "array", "items": ANY}},
    },
    "required": ["columns", "data"],
}
ANSWER = {
    "type": "object",
    "description": "A classifier's label and class probabilities, or a regressor's value.",
    "properties": {
        "label": {"description": "The predicted class."},
        "probabilities": {"type": "object", "additionalProperties": {"type": "number"}},
        "value": {"type": "number"},
    },
}
ANSWERS = {"type": "array", "items": ANSWER}
WARNINGS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "row": {"type": "integer"},
            "field": {"type": "string"},
            "message": {"type": "string"},
        },
        "required": ["row", "field", "message"],
    },
}
CURVES = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "feature": {"type": "string"},
            "type": {"type": "string", "enum": list(INPUT_TYPES)},
            "values": {"type": "array", "items": ANY},
            "current": ANY,
            "predictions": {
                "type": "array",
                "items": ANY,
                "description": "Per point: class probabilities, or a value.",
            },
        },
        "required": ["feature", "values", "predictions"],
    },
}
FIGURE = {
    "type": "object",
    "description": "A Plotly figure: Plotly.newPlot(div, chart.data, chart.layout).",
    "properties": {
        "data": {"type": "array", "items": OBJECT},
        "layout": OBJECT,
    },
    "required": ["data", "layout"],
}
INTERFACE_INPUTS = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": ANY,
        "properties": {
            "name": {"type": "string"},
            "type": {"type": "string", "enum": list(INPUT_TYPES)},
        },
        "required": ["name", "type"],
    },
}
INTERFACE_OUTPUT = {
    "type": "object",
    "additionalProperties": ANY,
    "properties": {"task": {"type": "string", "enum": list(TASKS)}},
    "required": ["task"],
}
ALIASES = {"type": "object", "additionalProperties": {"type": "integer"}}

PENGUIN = {
    "bill_length_mm": 39.1,
    "bill_depth_mm": 18.7,
    "flipper_length_mm": 181,
    "body_mass_g": 3750,
    "island": "Torgersen",
    "sex": "male",
}

PREDICT_EXAMPLES = [
    OpenApiExample(
        "Rows as objects",
        value={"inputs": [PENGUIN], "alias": "champion", "chart": True},
        request_only=True,
    ),
    OpenApiExample(
        "MLflow dataframe_split",
        value={"dataframe_split": {"columns": list(PENGUIN), "data": [list(PENGUIN.values())]}},
        request_only=True,
    ),
    OpenApiExample(
        "MLflow dataframe_records",
        value={"dataframe_records": [PENGUIN], "version": 3},
        request_only=True,
    ),
    OpenApiExample(
        "A classifier's answer",
        value={
            "id": "5a0c3e52-7d4f-4f0e-9a51-0f1c2d3e4b5a",
            "model": "penguins",
            "version": 3,
            "predictions": [
                {
                    "label": "Adelie",
                    "probabilities": {"Adelie": 0.97, "Chinstrap": 0.02, "Gentoo": 0.01},
                }
            ],
            "warnings": [],
            "url": "https://portal.example.com/predictions/5a0c3e52-7d4f-4f0e-9a51-0f1c2d3e4b5a/",
        },
        response_only=True,
    ),
]
WHATIF_EXAMPLES = [
    OpenApiExample(
        "Sweep two inputs",
        value={
            "inputs": PENGUIN,
            "features": ["bill_length_mm", "island"],
            "points": 25,
            "chart": True,
        },
        request_only=True,
    ),
]
COMPARE_EXAMPLES = [
    OpenApiExample(
        "Champion, version 2 and another model",
        value={
            "models": ["penguins@champion", "penguins@2", "penguins-gbm"],
            "inputs": [PENGUIN],
            "chart": True,
        },
        request_only=True,
    ),
]
FEEDBACK_EXAMPLES = [
    OpenApiExample("The actual class", value={"actual": "Adelie"}, request_only=True),
    OpenApiExample("One outcome per row", value={"actual": [4215.0, 3900.5]}, request_only=True),
]
ALIAS_EXAMPLES = [
    OpenApiExample("Point the alias at version 3", value={"version": 3}, request_only=True),
]
CONTRIBUTIONS = {
    "type": "array",
    "description": "One entry per input of the interface, in its order.",
    "items": {
        "type": "object",
        "properties": {
            "input": {"type": "string"},
            "label": {"type": "string"},
            "value": ANY,
            "effect": {"type": "number", "description": "How far this input moved the answer."},
        },
        "required": ["input", "label", "value", "effect"],
    },
}
COUNTERFACTUAL_TARGET = {
    "description": 'A class (classifier), or a range {"min": …, "max": …} (regressor).',
    "oneOf": [
        {"type": "string"},
        {
            "type": "object",
            "properties": {"min": {"type": "number"}, "max": {"type": "number"}},
            "additionalProperties": False,
        },
    ],
}
COUNTERFACTUALS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "changes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "input": {"type": "string"},
                        "label": {"type": "string"},
                        "from": ANY,
                        "to": ANY,
                        "unit": {"type": "string", "nullable": True},
                        "text": {
                            "type": "string",
                            "description": 'As a person reads it: "change flipper length '
                            '181 → 214 mm".',
                        },
                    },
                    "required": ["input", "from", "to"],
                },
            },
            "inputs": ROW,
            "prediction": ANSWER,
            "cost": {"type": "number", "description": "Change measured in each input's spread."},
        },
        "required": ["changes", "inputs", "prediction", "cost"],
    },
}
EXPLAIN_EXAMPLES = [
    OpenApiExample(
        "Why this answer",
        value={"inputs": PENGUIN, "class": "Adelie", "chart": True},
        request_only=True,
    ),
]
COUNTERFACTUAL_EXAMPLES = [
    OpenApiExample(
        "What would it take to be Gentoo",
        value={
            "inputs": PENGUIN,
            "target": "Gentoo",
            "fixed": ["island", "sex"],
            "max_changes": 2,
            "count": 3,
        },
        request_only=True,
    ),
    OpenApiExample(
        "A regressor into a range",
        value={"inputs": {"age": 50, "bmi": 30, "bp": 90}, "target": {"min": 150, "max": 200}},
        request_only=True,
    ),
]
