"""Plotly figures built from plain data; nothing here knows Django or the registry.

Every builder returns a figure as plain JSON (``{"data": [...], "layout": {...}}``) in the
shared theme, ready for ``Plotly.newPlot(div, fig.data, fig.layout)`` on a page or in an API
response. They build dicts rather than ``plotly.graph_objects.Figure``: constructing and
validating graph objects costs milliseconds per figure (over 20 ms for ten small multiples),
more than a what-if redraw can spend. The tests validate every builder's output against
Plotly's schema with ``go.Figure(fig)``.
"""

from charts.answers import (
    class_probabilities,
    class_probabilities_rows,
    heatmap,
    sensitivity,
    value_on_distribution,
)
from charts.batch import class_counts, prediction_by_input, value_histogram
from charts.evaluation import (
    confusion_matrix,
    feature_importance,
    precision_recall,
    predicted_vs_actual,
    residuals,
    roc_curves,
)
from charts.explanations import explanation_waterfall
from charts.monitoring import (
    distribution_overlay,
    drift_over_time,
    estimated_performance,
    performance,
    quality_rates,
    traffic,
)
from charts.overview import headline_metrics, usage_per_day
from charts.theme import Figure

__all__ = [
    "Figure",
    "class_counts",
    "class_probabilities",
    "class_probabilities_rows",
    "confusion_matrix",
    "distribution_overlay",
    "drift_over_time",
    "estimated_performance",
    "explanation_waterfall",
    "feature_importance",
    "headline_metrics",
    "heatmap",
    "performance",
    "precision_recall",
    "predicted_vs_actual",
    "prediction_by_input",
    "quality_rates",
    "residuals",
    "roc_curves",
    "sensitivity",
    "traffic",
    "usage_per_day",
    "value_histogram",
    "value_on_distribution",
]
