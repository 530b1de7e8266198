"""What the API accepts and what it answers.

Request serializers check the shape of a body (which keys, which types); the rows themselves
are checked by the version's interface inside the registry's services, which names each bad
row and field. Response serializers turn registry objects into the JSON of API.md. Charts come
from ``portal.charting`` and ``charts``; nothing here draws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from django.urls import get_script_prefix, get_urlconf, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from portal.api import openapi
from portal.charting.compare import comparison_answer_figure
from portal.charting.explain import explanation_figure
from portal.charting.predict import answer_figure, focus_of, sensitivity_figure
from portal.web.errors import CODES, RequestTooLarge
from portal.web.sharing import share_token
from registry.compare.comparison import MAX_MODELS, MIN_MODELS
from registry.explain.counterfactuals import (
    MARGIN_POINTS,
    MAX_CHANGES,
    MAX_COUNT,
    MAX_MARGIN_POINTS,
)
from registry.limits import PayloadTooLarge, rows_limit_check
from registry.models import MAX_VERSION_NUMBER, ModelVersion, Prediction, RegisteredModel, Source
from registry.predict.services import MAX_SWEEP_POINTS

MAX_VERSION = MAX_VERSION_NUMBER


def absolute(request, route: str, **kwargs: Any) -> str:
    """The absolute URL of a named route (a page or an API endpoint)."""
    return request.build_absolute_uri(reverse(route, kwargs=kwargs))


def embed_url(request, prediction: Prediction) -> str:
    """The prediction's graph alone for an iframe, signed so a viewer needs no login."""
    url = absolute(request, "prediction_embed", id=prediction.id)
    return f"{url}?s={share_token(prediction)}"


# ---------------------------------------------------------------- fields
@extend_schema_field(OpenApiTypes.ANY)
class JSONValue(serializers.Field):
    """Any JSON value, passed through as is: the registry checks it, not DRF."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(openapi.ROWS)
class RowsField(JSONValue):
    """A list of rows (objects of input: value). Each row is checked by the interface."""


@extend_schema_field(openapi.ROW)
class RowField(serializers.DictField):
    """One row: an object of input: value."""


@extend_schema_field(openapi.DATAFRAME_SPLIT)
class DataframeSplitField(serializers.Field):
    """MLflow's ``{"columns": [...], "data": [[...], ...]}``, turned into rows."""

    default_error_messages = {
        "shape": 'Send {{"columns": [names], "data": [[values], ...]}}.',
        "columns": "Columns must be distinct names.",
    }

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, Mapping):
            self.fail("shape")
        columns, rows = data.get("columns"), data.get("data")
        if not isinstance(columns, list) or not isinstance(rows, list):
            self.fail("shape")
        if not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
            self.fail("columns")
        try:  # before a row is built: 16 MB of "[]," is 5.5 million empty rows
            rows_limit_check(len(rows))
        except PayloadTooLarge as exc:
            raise RequestTooLarge(exc.messages[0]) from None
        records: list[Any] = []
        for index, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != len(columns):
                raise serializers.ValidationError(
                    {str(index): [f"Give {len(columns)} values, one per column."]}
                )
            records.append(dict(zip(columns, row, strict=True)))
        return records

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(openapi.FIGURE)
class FigureField(JSONValue):
    """A Plotly figure as plain JSON: ``Plotly.newPlot(div, chart.data, chart.layout)``."""


@extend_schema_field(openapi.ANSWERS)
class AnswersField(JSONValue):
    """One answer per row: a label and class probabilities, or a value."""


@extend_schema_field(openapi.WARNINGS)
class WarningsField(JSONValue):
    """Rows answered with a caveat (an input outside the training range)."""


@extend_schema_field(openapi.CURVES)
class CurvesField(JSONValue):
    """How the answer moves as each input moves."""


@extend_schema_field(openapi.INTERFACE_INPUTS)
class InputsSpecField(JSONValue):
    """The interface's inputs: name, type, limits, training range, choices."""


@extend_schema_field(openapi.INTERFACE_OUTPUT)
class OutputSpecField(JSONValue):
    """The interface's output: task, target, classes or unit."""


@extend_schema_field(openapi.OBJECT)
class ObjectField(JSONValue):
    """A JSON object passed through as stored."""


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


# ---------------------------------------------------------------- requests
class VersionChoiceSerializer(serializers.Serializer):
    """``version`` (a number) or ``alias``; neither means champion, else newest."""

    version = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_VERSION, help_text="A version number."
    )
    alias = serializers.SlugField(
        required=False, max_length=50, help_text="An alias such as champion."
    )


class RowsInputSerializer(serializers.Serializer):
    """Rows in one of three forms: ``inputs``, ``dataframe_split`` or ``dataframe_records``."""

    FORMS = ("inputs", "dataframe_split", "dataframe_records")

    inputs = RowsField(required=False, help_text="The rows, each an object of input: value.")
    dataframe_split = DataframeSplitField(
        required=False, help_text="MLflow's split form: column names and rows of values."
    )
    dataframe_records = RowsField(required=False, help_text="MLflow's records form.")
    chart = serializers.BooleanField(
        default=False, help_text="Add the Plotly figure of the answer."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [form for form in self.FORMS if form in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(
                {
                    "inputs": [
                        "Send the rows as exactly one of: inputs, dataframe_split, "
                        "dataframe_records."
                    ]
                }
            )
        attrs["rows"] = attrs.pop(given[0])
        return attrs


@extend_schema_serializer(examples=openapi.PREDICT_EXAMPLES)
class PredictRequestSerializer(RowsInputSerializer, VersionChoiceSerializer):
    pass


@extend_schema_serializer(examples=openapi.WHATIF_EXAMPLES)
class WhatIfRequestSerializer(VersionChoiceSerializer):
    inputs = RowField(help_text="One row: an object of input: value.")
    features = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=200,
        help_text="Inputs to sweep (all by default).",
    )
    points = serializers.IntegerField(
        default=25, min_value=2, max_value=MAX_SWEEP_POINTS, help_text="Points per number input."
    )
    chart = serializers.BooleanField(default=False, help_text="Add the sensitivity figure.")


@extend_schema_serializer(examples=openapi.COMPARE_EXAMPLES)
class CompareRequestSerializer(RowsInputSerializer):
    # One name is allowed here so that an unknown one is answered 404 like anywhere else;
    # the comparison plan then asks for at least two.
    models = serializers.ListField(
        child=serializers.CharField(max_length=200),
        min_length=1,
        max_length=MAX_MODELS,
        error_messages={"max_length": f"Compare at most {MAX_MODELS} models at once."},
        help_text=(
            f'{MIN_MODELS} to {MAX_MODELS} models, each "name", "name@version" or "name@alias".'
        ),
    )
    save = serializers.BooleanField(
        default=False,
        help_text="Store each model's answer (one prediction per model); by default none is.",
    )


@extend_schema_serializer(examples=openapi.FEEDBACK_EXAMPLES)
class FeedbackRequestSerializer(serializers.Serializer):
    actual = JSONValue(help_text="The actual outcome: one value, or a list with one per row.")

    def validate_actual(self, value: Any) -> Any:
        if not _finite(value):
            raise serializers.ValidationError("Enter a finite number (not NaN or infinity).")
        return value


@extend_schema_serializer(examples=openapi.ALIAS_EXAMPLES)
class AliasRequestSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=MAX_VERSION)


class RegisterRequestSerializer(serializers.Serializer):
    name = serializers.SlugField(
        max_length=100, help_text="A new name makes a new model; a known one, its next version."
    )
    artifact = serializers.FileField(
        required=False, help_text="The model, saved with skops.io.dump()."
    )
    mlflow_model = serializers.FileField(
        required=False,
        help_text="Instead of artifact: a zip of an MLflow model directory (the sklearn flavor "
        "saved as skops). Its signature gives the interface, its input example the defaults.",
    )
    reference_data = serializers.FileField(
        required=False,
        help_text="CSV of inputs (and the target) to infer the interface and compute metrics.",
    )
    target = serializers.CharField(required=False, max_length=200)
    title = serializers.CharField(required=False, max_length=200, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    interface = serializers.JSONField(
        required=False, binary=True, help_text="The interface as JSON; overrides inference."
    )
    alias = serializers.SlugField(required=False, max_length=50)
    allow_breaking = serializers.BooleanField(
        default=False, help_text="Accept an interface that breaks callers of the last version."
    )
    source = serializers.CharField(
        required=False, max_length=500, help_text="Lineage: where the model comes from."
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    keep = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=50,
        help_text="Reference columns the model does not take, kept in the reference sample so "
        "they can be marked sensitive (an age band kept out of the model). Repeat the field.",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # Checked beside the fields (not after them), so one answer names every problem.
        errors: dict[str, Any] = {}
        value: dict[str, Any] = {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors = dict(exc.detail)
        if ("artifact" in data) == ("mlflow_model" in data) and "artifact" not in errors:
            errors["artifact"] = [
                "Send either artifact (a skops file) or mlflow_model (a zip of an MLflow "
                "model directory)."
            ]
        if errors:
            raise serializers.ValidationError(errors)
        return value


class PredictionFilterSerializer(serializers.Serializer):
    model = serializers.SlugField(required=False, max_length=100)
    version = serializers.IntegerField(required=False, min_value=1, max_value=MAX_VERSION)
    source = serializers.ChoiceField(required=False, choices=Source.choices)
    since = serializers.DateTimeField(required=False, help_text="ISO 8601 date and time.")


class ChartQuerySerializer(serializers.Serializer):
    chart = serializers.BooleanField(default=False, help_text="Add the Plotly figure.")


# ---------------------------------------------------------------- responses
class ErrorBodySerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=[(c, c) for c in CODES])
    message = serializers.CharField()
    fields = ObjectField(help_text="Messages by field; for rows, by row then field.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


class ModelSummarySerializer(serializers.ModelSerializer):
    latest_version = serializers.IntegerField(source="latest_number", allow_null=True)
    aliases = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    portal_url = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredModel
        fields = [
            "name",
            "title",
            "task",
            "description",
            "latest_version",
            "aliases",
            "url",
            "portal_url",
        ]

    @extend_schema_field(openapi.ALIASES)
    def get_aliases(self, model: RegisteredModel) -> dict[str, int]:
        return {a.name: a.version.number for a in model.aliases.all()}

    def get_url(self, model: RegisteredModel) -> str:
        return absolute(self.context["request"], "api:model-detail", name=model.name)

    def get_portal_url(self, model: RegisteredModel) -> str:
        return absolute(self.context["request"], "model_card", name=model.name)


class VersionSummarySerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="number")
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    aliases = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "version",
            "created_at",
            "created_by",
            "framework",
            "framework_version",
            "artifact_sha256",
            "metrics",
            "aliases",
            "url",
        ]

    def get_url(self, version: ModelVersion) -> str:
        return absolute(
            self.context["request"],
            "api:version-detail",
            name=version.model.name,
            number=version.number,
        )


class ModelDetailSerializer(ModelSummarySerializer):
    """A model with its versions; ``context`` holds ``versions`` and ``aliases``."""

    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    latest_version = serializers.SerializerMethodField()
    versions = serializers.SerializerMethodField()

    class Meta(ModelSummarySerializer.Meta):
        fields = [*ModelSummarySerializer.Meta.fields, "owner", "tags", "created_at", "versions"]
        fields += ["requires_approval"]

    @extend_schema_field(openapi.ALIASES)
    def get_aliases(self, model: RegisteredModel) -> dict[str, int]:
        return self.context["aliases"]

    def get_latest_version(self, model: RegisteredModel) -> int | None:
        versions = self.context["versions"]
        return versions[0].number if versions else None

    @extend_schema_field(VersionSummarySerializer(many=True))
    def get_versions(self, model: RegisteredModel) -> list[dict[str, Any]]:
        return VersionSummarySerializer(
            self.context["versions"], many=True, context=self.context
        ).data


class LineageSerializer(serializers.Serializer):
    reference_fingerprint = serializers.CharField()
    reference_rows = serializers.IntegerField()
    source = serializers.CharField()
    parent = serializers.SerializerMethodField(help_text="The version this one follows.")
    notes = serializers.CharField()
    breaking_changes = serializers.ListField(child=serializers.CharField())
    origin = ObjectField(
        help_text="Where the version came from in another registry: for MLflow, the run id, "
        "run metrics and params, tags and a link back."
    )

    def get_parent(self, version: ModelVersion) -> int | None:
        return version.parent.number if version.parent_id else None


class VersionSerializer(VersionSummarySerializer):
    model = serializers.CharField(source="model.name")
    interface = ObjectField()
    params = ObjectField()
    metrics = ObjectField()
    lineage = LineageSerializer(source="*")
    portal_url = serializers.SerializerMethodField()

    class Meta(VersionSummarySerializer.Meta):
        fields = [
            "model",
            "version",
            "created_at",
            "created_by",
            "framework",
            "framework_version",
            "estimator_class",
            "artifact_sha256",
            "artifact_size",
            "interface",
            "metrics",
            "params",
            "lineage",
            "aliases",
            "url",
            "portal_url",
        ]

    def get_portal_url(self, version: ModelVersion) -> str:
        url = absolute(self.context["request"], "model_card", name=version.model.name)
        return f"{url}?version={version.number}"


class InterfaceSerializer(serializers.Serializer):
    model = serializers.CharField(source="model.name")
    version = serializers.IntegerField(source="number")
    inputs = InputsSpecField(source="interface.inputs")
    output = OutputSpecField(source="interface.output")
    json_schema = serializers.SerializerMethodField()

    @extend_schema_field(openapi.OBJECT)
    def get_json_schema(self, version: ModelVersion) -> dict[str, Any]:
        return self.context["interface"].json_schema()


class AliasSerializer(serializers.Serializer):
    model = serializers.CharField(source="model.name")
    alias = serializers.CharField(source="name")
    version = serializers.IntegerField(source="version.number")


class ChartField(FigureField):
    """The serializer's figure of the instance, only when the caller asked for it."""

    def __init__(self, **kwargs: Any):
        super().__init__(source="*", required=False, **kwargs)

    def to_representation(self, instance: Any) -> dict[str, Any] | None:
        return self.parent.chart_of(instance) if self.context.get("chart") else None


class ChartMixin(serializers.Serializer):
    """Adds ``chart`` when the caller asked for it (``context["chart"]``), else leaves it out."""

    chart = ChartField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        chart = data.pop("chart", None)  # last, and only when asked for
        if self.context.get("chart"):
            data["chart"] = chart
        return data

    def chart_of(self, instance: Any) -> dict[str, Any]:
        raise NotImplementedError


class PredictResponseSerializer(ChartMixin):
    """The answer of one predict call (a ``registry.predict.services.Answer``)."""

    id = serializers.UUIDField(source="prediction.id")
    model = serializers.CharField(source="version.model.name")
    version = serializers.IntegerField(source="version.number")
    predictions = AnswersField()
    warnings = WarningsField()
    url = serializers.SerializerMethodField(help_text="The prediction's page in the portal.")
    embed_url = serializers.SerializerMethodField(
        help_text="The graph alone, for an iframe; signed, so viewers need no login."
    )

    def get_url(self, answer) -> str:
        return absolute(self.context["request"], "prediction_detail", id=answer.prediction.id)

    def get_embed_url(self, answer) -> str:
        return embed_url(self.context["request"], answer.prediction)

    def chart_of(self, answer) -> dict[str, Any]:
        return answer_figure(answer.version, answer.predictions)


_ID = "00000000-0000-4000-8000-000000000000"
_paths: dict[tuple[Any, ...], str] = {}


def _path_of(route: str, id: Any) -> str:
    """``reverse(route, kwargs={"id": id})`` for a UUID id, reversed once per route, prefix
    and URLconf: reversing cost more per call than storing the prediction."""
    key = (route, get_script_prefix(), get_urlconf())
    template = _paths.get(key)
    if template is None:
        template = _paths[key] = reverse(route, kwargs={"id": _ID})
    return template.replace(_ID, str(id))


def predict_answer(request, answer, *, chart: bool) -> dict[str, Any]:
    """What :class:`PredictResponseSerializer` answers, built directly.

    The shape is fixed, and the serializer's field machinery cost more per call than scoring
    the row; the serializer stays the schema's description (a test holds the two equal).
    """
    prediction = answer.prediction
    data = {
        "id": str(prediction.id),
        "model": answer.version.model.name,
        "version": answer.version.number,
        "predictions": answer.predictions,
        "warnings": answer.warnings,
        "url": request.build_absolute_uri(_path_of("prediction_detail", prediction.id)),
        "embed_url": request.build_absolute_uri(_path_of("prediction_embed", prediction.id))
        + f"?s={share_token(prediction)}",
    }
    if chart:
        data["chart"] = answer_figure(answer.version, answer.predictions)
    return data


class WhatIfResponseSerializer(ChartMixin):
    """A ``registry.predict.services.WhatIf``: one row's answer and its sensitivity curves."""

    model = serializers.CharField(source="answer.version.model.name")
    version = serializers.IntegerField(source="answer.version.number")
    prediction = serializers.SerializerMethodField()
    warnings = WarningsField(source="answer.warnings")
    curves = CurvesField()

    @extend_schema_field(openapi.ANSWER)
    def get_prediction(self, whatif) -> dict[str, Any]:
        return whatif.answer.predictions[0]

    def chart_of(self, whatif) -> dict[str, Any]:
        version = whatif.answer.version
        focus = focus_of(version, whatif.answer.predictions[0])
        return sensitivity_figure(version, whatif.curves, focus=focus)


@extend_schema_serializer(examples=openapi.EXPLAIN_EXAMPLES)
class ExplainRequestSerializer(VersionChoiceSerializer):
    inputs = RowField(help_text="One row: an object of input: value.")
    chart = serializers.BooleanField(default=False, help_text="Add the waterfall figure.")

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        # "class" is a Python keyword, so the field is added by name.
        fields["class"] = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=200,
            help_text=(
                "The class whose probability is explained (default: a binary classifier's "
                "positive class, else the predicted one)."
            ),
        )
        return fields


@extend_schema_field(openapi.CONTRIBUTIONS)
class ContributionsField(JSONValue):
    """One effect per input."""


@extend_schema_field(openapi.COUNTERFACTUALS)
class CounterfactualsField(JSONValue):
    """The answers found, cheapest first."""


@extend_schema_field(openapi.COUNTERFACTUAL_TARGET)
class TargetField(JSONValue):
    """A class, or a range of values."""


class ExplainResponseSerializer(ChartMixin):
    """A ``registry.explain.explanations.Explanation`` (``context`` holds the version)."""

    model = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField()
    prediction = serializers.SerializerMethodField()
    explained = serializers.CharField(help_text='"probability of Adelie" or "value of …".')
    baseline = serializers.FloatField(
        help_text="The average answer over the background reference rows."
    )
    baseline_rows = serializers.IntegerField(
        help_text="How many reference rows the baseline averages (a fixed, evenly spaced sample)."
    )
    answer = serializers.FloatField(help_text="The explained answer: baseline + sum of effects.")
    method = serializers.ChoiceField(
        choices=[("exact", "exact"), ("sampled", "sampled")],
        help_text="exact: every coalition of inputs; sampled: seeded random orders of inputs.",
    )
    contributions = ContributionsField()
    summary = serializers.CharField()

    def get_model(self, explanation) -> str:
        return self.context["version"].model.name

    def get_version(self, explanation) -> int:
        return self.context["version"].number

    @extend_schema_field(openapi.ANSWER)
    def get_prediction(self, explanation) -> dict[str, Any]:
        return explanation.prediction

    def chart_of(self, explanation) -> dict[str, Any]:
        return explanation_figure(self.context["version"], explanation)


@extend_schema_serializer(examples=openapi.COUNTERFACTUAL_EXAMPLES)
class CounterfactualsRequestSerializer(VersionChoiceSerializer):
    inputs = RowField(help_text="One row: an object of input: value.")
    target = TargetField(help_text='A class, or {"min": …, "max": …} for a regressor.')
    fixed = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        default=list,
        max_length=500,
        help_text="Inputs that must not change.",
    )
    max_changes = serializers.IntegerField(
        default=2, min_value=1, max_value=MAX_CHANGES, help_text="Most inputs one answer changes."
    )
    count = serializers.IntegerField(
        default=3, min_value=1, max_value=MAX_COUNT, help_text="Most answers returned."
    )
    margin = serializers.FloatField(
        default=MARGIN_POINTS,
        min_value=0,
        max_value=MAX_MARGIN_POINTS,
        help_text=(
            "How clearly each answer reaches the target, in points: a class's probability "
            "ahead of every other class's by this many percentage points; a value inside the "
            "range by this share of its width (of the way from the current answer, for a "
            "range with one end). 0 accepts a bare win."
        ),
    )


class CounterfactualsResponseSerializer(serializers.Serializer):
    """A ``registry.explain.counterfactuals.Search`` (``context`` holds the version)."""

    model = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField()
    prediction = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    counterfactuals = CounterfactualsField()
    margin = serializers.FloatField(
        source="target.margin", help_text="The margin asked, in points."
    )
    needed = serializers.FloatField(
        help_text=(
            "The margin as it applies here: a lead in probability (0.05 for 5 points), or a "
            "distance inside the range in the answer's unit; 0 for a labels-only model."
        )
    )
    message = serializers.CharField(help_text="Empty, or what was searched when none was found.")

    def get_model(self, search) -> str:
        return self.context["version"].model.name

    def get_version(self, search) -> int:
        return self.context["version"].number

    @extend_schema_field(openapi.ANSWER)
    def get_prediction(self, search) -> dict[str, Any]:
        return search.prediction

    @extend_schema_field(openapi.COUNTERFACTUAL_TARGET)
    def get_target(self, search) -> Any:
        t = search.target
        if t.label is not None:
            return t.label
        return {k: v for k, v in (("min", t.low), ("max", t.high)) if v is not None}


class ComparisonResultSerializer(serializers.Serializer):
    model = serializers.CharField(source="version.model.name")
    version = serializers.IntegerField(source="version.number")
    id = serializers.UUIDField(
        source="prediction.id", allow_null=True, help_text="The stored answer (`save` only)."
    )
    url = serializers.SerializerMethodField()
    predictions = AnswersField()
    warnings = WarningsField()

    def get_url(self, answer) -> str | None:
        if answer.prediction is None:
            return None
        return absolute(self.context["request"], "prediction_detail", id=answer.prediction.id)


class CompareResponseSerializer(ChartMixin):
    """A list of ``Answer``: the same rows through each model (``context["models"]`` names
    them as the caller did)."""

    results = ComparisonResultSerializer(source="*", many=True)

    def chart_of(self, answers) -> dict[str, Any]:
        labels = [
            spec if spec.endswith(f"@{a.version.number}") else f"{spec} (v{a.version.number})"
            for spec, a in zip(self.context["models"], answers, strict=True)
        ]
        return comparison_answer_figure(
            labels, [a.predictions for a in answers], answers[0].version.interface["output"]
        )


class PredictionSummarySerializer(serializers.ModelSerializer):
    """A stored prediction in a history list (without its rows)."""

    model = serializers.CharField(source="version.model.name")
    version = serializers.IntegerField(source="version.number")
    user = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    feedback = JSONValue(allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Prediction
        fields = [
            "id",
            "model",
            "version",
            "user",
            "source",
            "name",
            "row_count",
            "latency_ms",
            "created_at",
            "feedback",
            "feedback_at",
            "url",
        ]

    def get_url(self, prediction: Prediction) -> str:
        return absolute(self.context["request"], "prediction_detail", id=prediction.id)


class PredictionSerializer(ChartMixin, PredictionSummarySerializer):
    """One stored prediction: its rows, answers and warnings, and its chart on request."""

    inputs = RowsField()
    outputs = AnswersField()
    warnings = WarningsField()
    embed_url = serializers.SerializerMethodField(
        help_text="The graph alone, for an iframe; signed, so viewers need no login."
    )

    class Meta(PredictionSummarySerializer.Meta):
        fields = [
            *PredictionSummarySerializer.Meta.fields,
            "embed_url",
            "inputs",
            "outputs",
            "warnings",
            "chart",
        ]

    def get_embed_url(self, prediction: Prediction) -> str:
        return embed_url(self.context["request"], prediction)

    def chart_of(self, prediction: Prediction) -> dict[str, Any]:
        return answer_figure(prediction.version, prediction.outputs)


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[("ok", "ok"), ("error", "error")])
    database = serializers.ChoiceField(
        choices=[("ok", "ok"), ("unavailable", "unavailable"), ("error", "error")]
    )
