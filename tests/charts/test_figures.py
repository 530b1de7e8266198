import json
import subprocess
import sys

import plotly.graph_objects as go
import pytest

import charts

CURVES = [
    {
        "feature": "bmi",
        "type": "number",
        "values": [18.0, 25.0, 32.0],
        "y": [0.2, 0.4, 0.7],
        "current": 25.0,
    },
    {
        "feature": "sex",
        "type": "category",
        "values": ["female", "male"],
        "y": [0.3, 0.5],
        "current": "male",
    },
    {
        "feature": "smoker",
        "type": "boolean",
        "values": [False, True],
        "y": [0.3, 0.6],
        "current": True,
    },
]

# Accuracy over one window, with its interval.
PERFORMANCE = [
    {"start": "2026-11-01T00:00:00+00:00", "value": 0.9, "interval": [0.8, 0.95], "labelled": 40}
]


def valid(fig):
    """The figure passes Plotly's own schema and travels as plain JSON (no binary arrays)."""
    go.Figure(fig)
    text = json.dumps(fig)
    assert "bdata" not in text
    return fig


def test_class_probabilities_mark_the_predicted_class():
    fig = valid(charts.class_probabilities({"no": 0.2, "yes": 0.8}, predicted="yes"))
    bar = fig["data"][0]
    assert bar["y"] == ["no", "yes (predicted)"]
    assert bar["x"] == [0.2, 0.8]
    assert bar["text"] == ["20%", "80%"]
    assert bar["marker"]["color"][1] != bar["marker"]["color"][0]


def test_rows_of_probabilities_stack_to_one():
    fig = valid(
        charts.class_probabilities_rows(
            ["a", "b"], [{"a": 0.25, "b": 0.75}, {"a": 1.0, "b": 0.0}], labels=["b", "a"]
        )
    )
    assert [t["name"] for t in fig["data"]] == ["a", "b"]
    assert [sum(v) for v in zip(*(t["x"] for t in fig["data"]), strict=True)] == [1.0, 1.0]


def test_a_value_is_placed_on_the_reference_distribution():
    fig = valid(
        charts.value_on_distribution(
            [150.0], reference=[100, 120, 160, 200], target="progression", unit="points"
        )
    )
    assert fig["data"][0]["type"] == "histogram"
    assert fig["layout"]["shapes"][0]["x0"] == 150.0
    assert "150" in fig["layout"]["title"]["text"]


def test_sensitivity_draws_one_panel_per_input_with_the_current_value():
    fig = valid(charts.sensitivity({"answer": CURVES}, y_label="P(yes)", y_range=[0, 1]))
    axes = {t["xaxis"] for t in fig["data"]}
    assert axes == {"x", "x2", "x3"}
    curves = [t for t in fig["data"] if t.get("meta") != "current"]
    assert [t["type"] for t in curves] == ["scatter", "bar", "bar"]
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert titles == ["<b>bmi</b>", "<b>sex</b>", "<b>smoker</b>"]
    # A number's current value is a dotted line across its panel, drawn as a trace.
    (current_bmi,) = [t for t in fig["data"] if t.get("meta") == "current"]
    assert (current_bmi["x"], current_bmi["y"], current_bmi["xaxis"]) == ([25.0, 25.0], [0, 1], "x")
    current_sex, _ = fig["layout"]["shapes"]
    # The current category has a band behind its bar, in its panel, spanning its slot only.
    assert (current_sex["xref"], current_sex["type"]) == ("x2", "rect")
    sex = curves[1]
    at = sex["x"].index(str(CURVES[1]["current"]))
    assert current_sex["x0"] < at < current_sex["x1"] and current_sex["x1"] - current_sex["x0"] <= 1
    assert fig["layout"]["xaxis2"]["type"] == "category"
    # The bars' own style does not depend on the current value (the page moves shapes only).
    other = valid(
        charts.sensitivity(
            {"answer": [{**c, "current": c["values"][0]} for c in CURVES]},
            y_label="P(yes)",
            y_range=[0, 1],
        )
    )
    assert [t.get("marker") for t in other["data"]] == [t.get("marker") for t in fig["data"]]
    assert [t.get("line") for t in other["data"]] == [t.get("line") for t in fig["data"]]
    assert other["layout"]["shapes"] != fig["layout"]["shapes"]
    assert other["data"][1]["x"] != fig["data"][1]["x"]


def test_sensitivity_overlays_several_models_in_the_same_panels():
    other = [{**c, "y": [v / 2 for v in c["y"]]} for c in CURVES]
    fig = valid(charts.sensitivity({"v1": CURVES, "v2": other}, y_label="P(yes)"))
    assert len(fig["data"]) == 7  # two models' curves in three panels, and bmi's current value
    curves = [t for t in fig["data"] if t.get("meta") != "current"]
    assert {t["name"] for t in curves if t["xaxis"] == "x"} == {"v1", "v2"}
    assert fig["layout"]["showlegend"] is True


def test_heatmap_marks_the_current_inputs():
    fig = valid(
        charts.heatmap(
            x="bmi",
            y="age",
            x_values=[20, 30],
            y_values=[40, 50],
            z=[[0.1, 0.2], [0.3, 0.4]],
            z_label="P(yes)",
            current=(25, 45),
        )
    )
    assert fig["data"][0]["z"] == [[0.1, 0.2], [0.3, 0.4]]
    assert fig["data"][1]["x"] == [25]


def test_evaluation_figures_are_valid():
    fig = valid(charts.confusion_matrix(["a", "b"], [[5, 1], [2, 7]]))
    assert fig["data"][0]["text"] == [["5", "1"], ["2", "7"]]
    valid(charts.roc_curves([{"class": "b", "fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1], "auc": 0.8}]))
    valid(
        charts.precision_recall(
            [{"class": "b", "recall": [0, 1], "precision": [1, 0.5], "average_precision": 0.7}]
        )
    )
    valid(charts.predicted_vs_actual([1, 2, 3], [1.1, 2.2, 2.7], target="y"))
    valid(charts.residuals([0.1, -0.2, 0.3], target="y"))
    fig = valid(
        charts.feature_importance(
            [
                {"feature": "bmi", "mean": 0.2, "std": 0.01},
                {"feature": "age", "mean": 0.1, "std": 0.02},
            ],
            scoring="accuracy",
            labels={"bmi": "BMI"},
        )
    )
    assert fig["data"][0]["y"] == ["BMI", "age"]  # the interface's label where it has one


def test_overview_figures_are_valid():
    valid(charts.headline_metrics([{"model": "wine", "metric": "ROC AUC", "value": 0.99}]))
    fig = valid(
        charts.usage_per_day({"wine": [("2026-11-25", 3)]}, days=["2026-11-24", "2026-11-25"])
    )
    assert fig["data"][0]["y"] == [0, 3]


@pytest.mark.parametrize("largest", [0, 1, 3, 7, 13, 60, 240, 999])
def test_a_count_axis_never_labels_two_ticks_alike(largest):
    """Ticks at whole steps from 0, few enough to read: no "0, 1, 1, 2, 2" from rounding."""
    fig = valid(charts.usage_per_day({"wine": [("2026-11-25", largest)]}, days=["2026-11-25"]))
    axis = fig["layout"]["yaxis"]
    step = axis["dtick"]
    assert axis["tick0"] == 0 and isinstance(step, int) and step >= 1
    ticks = range(0, largest + step, step)
    assert len(ticks) <= 8
    assert len({f"{t:,d}" for t in ticks}) == len(ticks)


def test_headline_metrics_give_each_kind_of_score_its_own_axis():
    fig = valid(
        charts.headline_metrics(
            [
                {"model": "Wine", "key": "roc_auc", "metric": "ROC AUC", "value": 0.99},
                {"model": "Cancer", "key": "roc_auc", "metric": "ROC AUC", "value": 0.98},
                {"model": "Diabetes", "key": "r2", "metric": "R²", "value": -0.1},
            ]
        )
    )
    assert [(t["xaxis"], t["y"]) for t in fig["data"]] == [
        ("x", ["Wine", "Cancer"]),
        ("x2", ["Diabetes"]),
    ]
    assert fig["layout"]["xaxis2"]["range"] == [-0.1, 1]  # a negative R² stays on its axis
    top, bottom = fig["layout"]["yaxis"]["domain"], fig["layout"]["yaxis2"]["domain"]
    assert bottom[1] < top[0]  # the panels do not overlap


def test_several_answers_are_a_named_distribution_not_unexplained_lines():
    fig = valid(charts.value_on_distribution([150.0, 170.0], reference=[100, 200, 150], target="y"))
    assert [t["name"] for t in fig["data"]] == ["Reference data", "These 2 answers"]
    assert fig["layout"]["shapes"] == [] and fig["layout"]["showlegend"] is True
    one = valid(charts.value_on_distribution([150.0], reference=[100, 200], target="y"))
    assert len(one["layout"]["shapes"]) == 1 and one["layout"]["showlegend"] is False


def test_an_answer_without_reference_rows_stands_on_an_axis_around_it():
    # A model registered from itself has no rows: no empty histogram, the line in view.
    fig = valid(charts.value_on_distribution([175.1], reference=[], target="prediction"))
    assert fig["data"] == []
    low, high = fig["layout"]["xaxis"]["range"]
    assert low < fig["layout"]["shapes"][0]["x0"] == 175.1 < high
    assert fig["layout"]["yaxis"]["visible"] is False
    assert fig["layout"]["title"]["text"].startswith("Prediction: 175.1")


@pytest.mark.parametrize("module", ["charts"])
def test_charts_import_nothing_from_django_or_the_registry(module):
    code = (
        f"import sys, {module}; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'registry', 'portal')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_batch_figures_are_valid():
    fig = valid(charts.class_counts({"yes": 30, "no": 70}))
    assert fig["data"][0]["text"] == ["30 (30%)", "70 (70%)"]
    valid(charts.value_histogram([1.0, 2.0, 2.5], target="progression", unit="points"))
    fig = valid(
        charts.prediction_by_input(
            {"bmi": [20, 30, 25], "age": [40, 50, 60]}, ["no", "yes", "no"], target="risk"
        )
    )
    assert {t["type"] for t in fig["data"]} == {"box"}
    fig = valid(charts.prediction_by_input({"bmi": [20, 30]}, [1.5, 2.5], target="y"))
    assert fig["data"][0]["x"] == [20, 30] and fig["data"][0]["y"] == [1.5, 2.5]


def test_the_waterfall_runs_from_the_baseline_to_the_answer():
    contributions = [
        {"label": f"Input {i}", "value": float(i), "effect": (-1) ** i * 0.01 * (i + 1)}
        for i in range(13)
    ]
    answer = 0.4 + sum(c["effect"] for c in contributions)
    fig = charts.explanation_waterfall(
        contributions, baseline=0.4, answer=answer, explained="probability of yes", probability=True
    )
    (trace,) = valid(fig)["data"]
    # The ten largest effects one by one, the three smallest summed: the bars end at the answer.
    assert trace["y"][0] == "Average (baseline)" and trace["y"][-1] == "This answer"
    assert trace["y"][1] == "Input 12<br>= 12" and trace["y"][-2] == "3 other inputs"
    assert trace["x"][0] + sum(trace["x"][1:-1]) == pytest.approx(trace["x"][-1])
    assert trace["text"][1] == "+13.0%" and trace["text"][2] == "−12.0%"


def test_monitoring_figures_are_valid_plotly():
    from charts import monitoring

    series = [
        {"start": "2026-11-01", "by_source": {"api": 5, "batch": 1}, "refused": 2, "p95_ms": 3.1},
        {"start": "2026-11-02", "by_source": {"api": 7}, "refused": 0, "p95_ms": None},
    ]
    fig = monitoring.traffic(series)
    go.Figure(fig)
    assert [t["name"] for t in fig["data"]][:3] == ["answers · api", "answers · batch", "refused"]
    number = {"kind": "number", "edges": [0, 1, 2], "reference": [0.5, 0.5], "current": [0.2, 0.8]}
    drifted = monitoring.distribution_overlay("bmi", number, drifted=True, unit="kg/m²")
    go.Figure(drifted)
    assert drifted["layout"]["title"]["text"].startswith("⚠ bmi")
    category = {
        "kind": "category",
        "categories": ["a", "b"],
        "reference": [1, 0],
        "current": [0, 1],
    }
    go.Figure(monitoring.distribution_overlay("island", category))
    windows = [
        {
            "start": "2026-11-01T00:00:00+00:00",
            "status": "drift",
            "rows": 200,
            "adjusted_p": {"bmi": 1e-6, "age": 0.9},
        },
        {
            "start": "2026-11-02T00:00:00+00:00",
            "status": "not_enough_data",
            "rows": 20,
            "adjusted_p": {"bmi": None, "age": None},
        },
    ]
    heat = monitoring.drift_over_time(windows, ["bmi", "age"])
    go.Figure(heat)
    assert heat["data"][0]["z"][0][1] is None and heat["data"][0]["z"][0][0] > 4
    perf = monitoring.performance(PERFORMANCE, metric="accuracy", reference=0.93)
    go.Figure(perf)


def test_a_far_out_row_does_not_stretch_the_batch_charts():
    """One row at 2,496 among values 25-350: drawn on the bulk's range, marked at its edge."""
    values = [25 + (i * 7) % 325 for i in range(200)] + [2496.0]
    histogram = charts.value_histogram(values, target="progression")
    go.Figure(histogram)
    low, high = histogram["layout"]["xaxis"]["range"]
    assert low < 25 and 349 < high < 400
    far = histogram["data"][1]
    assert far["customdata"] == [2496.0] and far["x"] == [high]
    assert histogram["layout"]["annotations"][0]["text"] == "▲ 1 far-out row marked at the edge"
    inputs = {"BMI": [20 + i % 20 for i in range(200)] + [400.0]}
    scatter = charts.prediction_by_input(inputs, values, target="progression")
    go.Figure(scatter)
    assert scatter["layout"]["xaxis"]["range"][1] < 45
    assert scatter["layout"]["yaxis"]["range"][1] < 400
    assert scatter["data"][1]["customdata"] == [[400.0, 2496.0]]
    # Without far-out rows the axes are Plotly's own, and nothing is marked.
    plain = charts.value_histogram(values[:-1], target="progression")
    assert "range" not in plain["layout"]["xaxis"] and len(plain["data"]) == 1


def test_the_drift_heatmap_keeps_code_names_where_labels_collide():
    from charts import monitoring

    windows = [
        {
            "start": "2026-11-01T00:00:00+00:00",
            "status": "drift",
            "rows": 9,
            "adjusted_p": {"a": 0.5, "b": 0.5, "c": 0.5},
        }
    ]
    heat = monitoring.drift_over_time(
        windows, ["a", "b", "c"], {"a": "Same", "b": "Same", "c": "C"}
    )
    assert heat["data"][0]["y"] == ["a", "b", "C"]
