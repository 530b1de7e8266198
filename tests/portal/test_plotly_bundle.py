"""The plotly.js the portal serves draws every figure the portal builds.

static/vendor/plotly.min.js holds only the trace types charts/ uses (vendor/plotly/ builds
it). These tests read which types the served file registers from the file itself, build
every public figure builder in charts/ and fail when a figure needs a type it lacks.
"""

import inspect
import pkgutil
import re
import typing

import plotly
import pytest
from django.contrib.staticfiles import finders

import charts
from charts import Figure
from tests.charts.test_figures import CURVES, PERFORMANCE

CURVE = [{"class": "b", "fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1], "auc": 0.8}]
PR = [{"class": "b", "recall": [1, 0.5, 0], "precision": [0.5, 0.8, 1], "average_precision": 0.7}]
WINDOWS = [
    {
        "start": "2026-11-01T00:00:00+00:00",
        "status": "drift",
        "rows": 200,
        "adjusted_p": {"bmi": 1e-6},
    },
]
CONTRIBUTIONS = [{"label": "bmi", "value": 30.0, "effect": 0.2}]

# Every public builder, with the arguments that make each kind of figure it can draw.
SAMPLES = {
    "answers.class_probabilities": [lambda f: f({"no": 0.2, "yes": 0.8}, predicted="yes")],
    "answers.class_probabilities_rows": [lambda f: f(["a"], [{"a": 1.0}], labels=["a"])],
    "answers.value_on_distribution": [
        lambda f: f([150.0], reference=[100, 200], target="y"),
        lambda f: f([150.0, 170.0], reference=[100, 200], target="y"),
    ],
    "answers.sensitivity": [lambda f: f({"answer": CURVES}, y_label="P(yes)")],
    "answers.heatmap": [
        lambda f: f(
            x="a",
            y="b",
            x_values=[1, 2],
            y_values=[3, 4],
            z=[[0, 1], [1, 0]],
            z_label="P",
            current=(1, 3),
        )
    ],
    "batch.class_counts": [lambda f: f({"yes": 3, "no": 7})],
    "batch.value_histogram": [lambda f: f([1.0, 2.0], target="y")],
    "batch.prediction_by_input": [
        lambda f: f({"bmi": [20, 30]}, ["no", "yes"], target="risk"),
        lambda f: f({"bmi": [20, 30]}, [1.5, 2.5], target="y"),
    ],
    "compare.compare_probabilities": [lambda f: f(["a", "b"], [{"x": 0.2}, {"x": 0.3}])],
    "compare.compare_values": [lambda f: f(["a", "b"], [[1.0], [2.0]], target="t")],
    "compare.model_values": [lambda f: f(["a", "b"], [1.0, 2.0], target="t")],
    "compare.roc_by_model": [lambda f: f({"a": CURVE})],
    "compare.precision_recall_by_model": [lambda f: f({"a": PR})],
    "compare.agreement_matrix": [lambda f: f(["x", "y"], [[1, 0], [0, 1]], a="a", b="b")],
    "compare.prediction_scatter": [lambda f: f([1.0], [2.0], a="a", b="b", target="t")],
    "compare.sensitivity_by_model": [lambda f: f({"a": CURVES, "b": CURVES}, y_label="P")],
    "evaluation.count_matrix": [lambda f: f(["x"], [[1]], heading="h", rows="r", columns="c")],
    "evaluation.confusion_matrix": [lambda f: f(["a", "b"], [[5, 1], [2, 7]])],
    "evaluation.roc_curves": [lambda f: f(CURVE)],
    "evaluation.precision_recall": [lambda f: f(PR)],
    "evaluation.predicted_vs_actual_by_model": [
        lambda f: f({"a": {"actual": [1.0], "predicted": [1.1]}}, target="y")
    ],
    "evaluation.residuals_by_model": [lambda f: f({"a": [0.1, -0.2]}, target="y")],
    "evaluation.predicted_vs_actual": [lambda f: f([1, 2], [1.1, 2.2], target="y")],
    "evaluation.residuals": [lambda f: f([0.1, -0.2], target="y")],
    "evaluation.feature_importance": [
        lambda f: f([{"feature": "bmi", "mean": 0.1, "std": 0.01}], scoring="accuracy")
    ],
    "explanations.explanation_waterfall": [
        lambda f: f(CONTRIBUTIONS, baseline=0.4, answer=0.6, explained="P", probability=True)
    ],
    "monitoring.traffic": [
        lambda f: f([{"start": "2026-11-01", "by_source": {"api": 5}, "refused": 2, "p95_ms": 3.1}])
    ],
    "monitoring.distribution_overlay": [
        lambda f: f(
            "bmi",
            {"kind": "number", "edges": [0, 1, 2], "reference": [0.5, 0.5], "current": [0.2, 0.8]},
        ),
        lambda f: f(
            "island", {"kind": "category", "categories": ["a"], "reference": [1], "current": [1]}
        ),
    ],
    "monitoring.drift_over_time": [lambda f: f(WINDOWS, ["bmi"])],
    "monitoring.performance": [lambda f: f(PERFORMANCE, metric="accuracy", reference=0.93)],
    "monitoring.estimated_performance": [
        lambda f: f(
            [
                {
                    "start": "2026-11-01",
                    "estimate": 0.9,
                    "low": 0.85,
                    "high": 0.95,
                    "realized": 0.88,
                },
                {"start": "2026-11-02", "estimate": None, "low": None, "high": None},
            ],
            metric="accuracy",
            reference=0.93,
            method="CBPE",
        )
    ],
    "monitoring.quality_rates": [
        lambda f: f(
            [
                {
                    "input": "bmi",
                    "label": "BMI",
                    "series": [
                        {"start": "2026-11-01", "missing": 0.1, "out_of_range": 0.02},
                        {"start": "2026-11-02", "missing": 0.0, "unseen_categories": 0.01},
                    ],
                }
            ]
        )
    ],
    "releases.shadow_agreement": [
        lambda f: f(
            [{"start": "2026-11-01T10:00", "compared": 9, "agreement": 0.9}], classifier=True
        ),
        lambda f: f(
            [{"start": "2026-11-01T10:00", "compared": 9, "mean_difference": 2.5}], classifier=False
        ),
    ],
    "releases.latency_side_by_side": [
        lambda f: f({"champion": {"p50": 2.0, "p99": 9.0}, "shadow": {"p50": 2.5, "p99": None}})
    ],
    "overview.headline_metrics": [
        lambda f: f([{"model": "wine", "metric": "ROC AUC", "value": 0.99}])
    ],
    "overview.usage_per_day": [lambda f: f({"wine": [("2026-11-25", 3)]}, days=["2026-11-25"])],
    "fairness.group_bars": [
        lambda f: f(
            [
                {"group": "a", "value": 0.8, "interval": [0.7, 0.9], "count": 40, "small": False},
                {"group": "b", "value": 1.0, "interval": None, "count": 1, "small": True},
                {"group": "c", "value": None, "interval": None, "count": 3, "small": True},
            ],
            heading="Accuracy by sex",
            axis_title="Sex",
        )
    ],
    "fairness.gap_over_time": [
        lambda f: f(
            [
                {"period": "2026-11-01", "rows": 30, "largest_difference": 0.1},
                {"period": "2026-11-08", "rows": 2, "largest_difference": None},
            ],
            heading="Gap",
            percent=True,
        )
    ],
    "fairness.recourse_bars": [
        lambda f: f(
            [
                {"group": "a", "rows": 5, "found": 4, "median_cost": 0.8},
                {"group": "b", "rows": 2, "found": 0, "median_cost": None},
            ],
            heading="Recourse",
        )
    ],
    "dossier.mean_abs_effects": [
        lambda f: f([{"label": "BMI", "mean_abs_effect": 0.04}], probability=True),
        lambda f: f([{"label": "BMI", "mean_abs_effect": 4.0}], probability=False),
    ],
}


def builders() -> dict[str, typing.Callable]:
    """Every public function in charts/ that returns a figure, by module.name (the theme's
    ``figure`` only wraps what the others build)."""
    found = {}
    for info in pkgutil.iter_modules(charts.__path__):
        if info.name == "theme":
            continue
        module = __import__(f"charts.{info.name}", fromlist=["_"])
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__ or name.startswith("_"):
                continue
            if function.__annotations__.get("return") in ("Figure", Figure):
                found[f"{info.name}.{name}"] = function
    return found


def served_bundle() -> str:
    with open(finders.find("vendor/plotly.min.js"), encoding="utf-8") as handle:
        return handle.read()


def registered_trace_types(source: str) -> set[str]:
    # Each trace module plotly.js registers declares itself so, in every build:
    # {..., moduleType: "trace", name: "bar", ...}.
    return set(re.findall(r'moduleType\s*:\s*"trace"\s*,\s*name\s*:\s*"(\w+)"', source))


def test_every_figure_builder_has_a_sample_here():
    assert set(SAMPLES) == set(builders())


@pytest.mark.parametrize("builder", sorted(SAMPLES))
def test_every_figure_draws_with_the_served_plotly(builder):
    available = registered_trace_types(served_bundle())
    for sample in SAMPLES[builder]:
        figure = sample(builders()[builder])
        assert figure["data"], builder
        used = {trace.get("type", "scatter") for trace in figure["data"]}
        assert used <= available, f"{builder} draws {used - available}: not in the bundle"


def test_the_served_plotly_holds_nothing_the_portal_does_not_draw():
    # Each trace type costs tens of KB on a first visit.
    drawn = {
        trace.get("type", "scatter")
        for builder, samples in SAMPLES.items()
        for sample in samples
        for trace in sample(builders()[builder])["data"]
    }
    assert registered_trace_types(served_bundle()) == drawn


def test_trace_types_are_read_from_any_plotly_build():
    # The full bundle of the plotly package registers every type, the rarer ones too.
    with open(f"{plotly.__path__[0]}/package_data/plotly.min.js", encoding="utf-8") as handle:
        assert {"bar", "violin", "scatter3d", "sankey"} <= registered_trace_types(handle.read())


def test_the_served_plotly_is_the_version_the_plotly_package_bundles():
    head = served_bundle()[:400]
    version = re.search(r"plotly\.js \(model portal: [\w, ]+ - minified\) v(\S+)", head)
    assert version and version[1] == plotly.offline.get_plotlyjs_version()


def test_the_bundle_carries_plotly_licence():
    path = finders.find("vendor/plotly.js-LICENSE.txt")
    with open(path, encoding="utf-8") as handle:
        licence = handle.read()
    assert "MIT License" in licence and "Plotly" in licence
