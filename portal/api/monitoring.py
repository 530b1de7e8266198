"""The monitoring endpoint: how a version is used and whether its inputs still look like its
reference data (``registry.monitoring`` computes; this only reads the query and answers)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api import serializers as s
from portal.api.base import READ_ERRORS, VERSION_QUERY, VersionedView, errors
from portal.charting.monitoring import monitoring_figures
from portal.web.permissions import IsViewer
from registry.monitoring.report import monitoring_report
from registry.monitoring.windows import period_parse


class MonitoringQuerySerializer(serializers.Serializer):
    since = serializers.CharField(required=False, max_length=40)
    until = serializers.CharField(required=False, max_length=40)
    segment = serializers.CharField(required=False, max_length=200)
    chart = serializers.BooleanField(default=False)


class MonitoringSerializer(serializers.Serializer):
    """What the monitoring endpoint answers."""

    model = serializers.CharField()
    version = serializers.IntegerField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    sources = serializers.ListField(child=serializers.CharField())
    traffic = s.JSONValue(
        help_text="answers, rows, refused, latency_ms {p50, p95, p99} and a series per window."
    )
    drift = s.JSONValue(
        help_text="status (ok, drift, not_enough_data), rows, min_rows, inputs (drifted "
        "first: test, statistic, p_value, adjusted_p, effect, drifted, unseen) and output."
    )
    drift_over_time = s.JSONValue(help_text="Per window: status, rows, adjusted p per input.")
    performance = s.JSONValue(
        allow_null=True,
        help_text="metric, labelled, value, interval (bootstrap 95%), reference, series; "
        "null when no answer has feedback.",
    )
    estimated_performance = s.JSONValue(
        allow_null=True,
        help_text="Performance without feedback: method (CBPE for classifiers, DLE for "
        "regressors), metric (accuracy or mae), reference, series per window {start, end, "
        "rows, estimate, low, high (95% prediction interval for what feedback will show), "
        "realized, labelled}, recent (the last 7 days), others (roc_auc or macro_recall), "
        "check (how the calibration or error model was chosen) and summary (one sentence); "
        "null when the version has fewer than 50 labelled reference rows or no probabilities.",
    )
    quality = s.JSONValue(
        help_text="Per input: label, rows read, shares missing, out_of_range (outside the "
        "observed training range) and unseen_categories, refused calls and refused_by_reason, "
        'and a series per window; input "(call)" holds refusals of a call as a whole.',
    )
    chart = s.JSONValue(required=False, help_text="The page's figures, when chart=true.")


class MonitoringView(VersionedView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="monitoring_retrieve",
        tags=["models"],
        summary="Traffic, input and output drift and performance of a version over a period",
        description=(
            "Traffic comes from SQL aggregates (latency percentiles are exact); drift compares "
            "the newest 5,000 rows of the period with the version's reference sample: KS and "
            "Welch's t for numbers, chi-square (rare categories merged, unseen ones named) for "
            "categories, a proportion test for booleans, p-values adjusted across inputs "
            "(Benjamini-Hochberg). Fewer rows than `min_rows` give `not_enough_data`, never "
            "drift. Page (what-if) answers are exploration, not traffic: they count only when "
            "`source=page` is asked for."
        ),
        parameters=[
            *VERSION_QUERY,
            OpenApiParameter("since", str, description="ISO date or time (default: 30 days ago)."),
            OpenApiParameter("until", str, description="ISO date or time (default: now)."),
            OpenApiParameter(
                "source",
                str,
                many=True,
                enum=["api", "batch", "page"],
                description="Repeatable; default api and batch.",
            ),
            OpenApiParameter(
                "segment", str, description="input:value on a category input, e.g. sex:male."
            ),
            OpenApiParameter("chart", bool, description="Add the page's Plotly figures."),
        ],
        responses={200: MonitoringSerializer, **errors(400, *READ_ERRORS)},
    )
    def get(self, request: Request, name: str) -> Response:
        version = self.version_of(name)
        query = MonitoringQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params: dict[str, Any] = query.validated_data
        period = period_parse(
            version=version,
            since=params.get("since"),
            until=params.get("until"),
            sources=request.query_params.getlist("source"),
            segment=params.get("segment"),
        )
        report = monitoring_report(version=version, period=period, with_distributions=True)
        drift = report["drift"]
        if params["chart"]:
            report["chart"] = monitoring_figures(version, report)
        # Distributions are the chart's data; the JSON answer keeps to the tests' results.
        drift.pop("distributions", None)
        drift.pop("output_distribution", None)
        return Response(report)
