"""Template tags of the portal: figures, metric formatting, query strings."""

import json
import re
from collections import Counter
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from registry.catalog.metrics import METRICS, metric_label

register = template.Library()

# The same escapes as Django's json_script: nothing in the JSON can close the <script>.
_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag
def plot(figure: dict[str, Any] | None, label: str = "", css_class: str = "", key: str = "") -> str:
    """A figure as a container plus its JSON; static/js/plots.js draws it.

    ``label`` becomes the container's accessible name (role="img"). ``key`` names the figure
    for a page that redraws it in place (``data-figure``): such a container is rendered even
    without a figure (hidden), ready for the page's script to fill.
    """
    if not figure:
        if not key:
            return ""
        return format_html(
            '<figure class="plot" role="img" aria-label="{}" data-figure="{}" hidden>'
            '<div class="plot-canvas" data-plot-canvas></div></figure>',
            label or "Chart",
            key,
        )
    data = json.dumps(figure, cls=DjangoJSONEncoder, separators=(",", ":")).translate(_JSON_ESCAPES)
    title = label or figure.get("layout", {}).get("title", {}).get("text", "Chart")
    return format_html(
        '<figure class="plot {}" role="img" aria-label="{}"{}>'
        '<div class="plot-canvas" data-plot-canvas></div>'
        '<noscript><p class="small muted">This chart needs JavaScript.</p></noscript>'
        '<script type="application/json" data-plotly>{}</script></figure>',
        css_class,
        title,
        format_html(' data-figure="{}"', key) if key else "",
        mark_safe(data),
    )


@register.filter
def metric_name(key: str) -> str:
    return metric_label(key)


@register.filter
def metric_help(key: str) -> str:
    found = METRICS.get(key)
    return found.help if found else ""


# Scikit-learn's names of pipeline steps and parameters, as words.
_PARAM_WORDS = {
    "columntransformer": "data preparation",
    "standardscaler": "scaling",
    "onehotencoder": "one-hot encoding",
    "simpleimputer": "filling gaps",
    "logisticregression": "logistic regression",
    "gradientboostingclassifier": "gradient boosting",
    "gradientboostingregressor": "gradient boosting",
    "randomforestclassifier": "random forest",
    "randomforestregressor": "random forest",
    "n_estimators": "number of trees",
    "max_depth": "largest tree depth",
    "learning_rate": "learning rate",
    "C": "C (inverse regularisation strength)",
    "alpha": "alpha (regularisation strength)",
    "max_iter": "most iterations",
    "random_state": "random seed",
    "n_jobs": "parallel jobs",
}


@register.filter
def param_name(key: str) -> str:
    """A parameter's path as words: "logisticregression__C" -> "Logistic regression, then
    C (inverse regularisation strength)", the steps joined by a right-pointing quote."""
    parts = [_PARAM_WORDS.get(p, p.replace("_", " ")) for p in key.split("__")]
    text = " › ".join(parts)
    return text[:1].upper() + text[1:]


@register.filter
def method_name(estimator_class: str) -> str:
    """An estimator's class as words: "sklearn.ensemble._gb.GradientBoostingClassifier" ->
    "Gradient boosting classifier"."""
    name = estimator_class.rsplit(".", 1)[-1]
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+", name) or [name]
    text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)
    return text[:1].upper() + text[1:]


@register.filter
def number(value: Any, digits: int = 3) -> str:
    """A number for people: 0.934, 1,204.5, 3.2e-05."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


@register.filter
def input_value(value: Any, spec: dict[str, Any]) -> str:
    """An input's value with its unit, rounded as the explanation's sentence rounds it, so a
    page never shows one input two ways."""
    # Imported here: registry.explain.explanations brings pandas, which pages without inputs skip.
    from registry.explain.explanations import value_text

    return value_text(value, spec)


# How each source of a stored prediction reads to a business user.
SOURCE_NAMES = {"page": "Saved in the portal", "api": "API call", "batch": "Batch file"}


@register.filter
def source_name(value: str) -> str:
    return SOURCE_NAMES.get(value, value)


@register.filter
def answer_summary(prediction: Any, form: str = "") -> str:
    """A stored prediction's answer in a few words: the answer of a one-row call, else the
    rows and what they got ("14 rows: mean 155, 94 to 287"; "30 rows: 21 benign, 9 malignant";
    without "14 rows: " when ``form`` is "short", under a heading that says it already).
    A batch job's record holds its first rows; its summary has the whole file's figures."""
    outputs = prediction.outputs or []
    if not outputs:
        return "–"
    if prediction.row_count <= 1:
        first = outputs[0]
        return str(first["label"]) if first.get("label") is not None else number(first["value"])
    text = _rows_summary(prediction, outputs)
    return text.split(": ", 1)[-1].capitalize() if form == "short" else text


def _rows_summary(prediction: Any, outputs: list[dict[str, Any]]) -> str:
    rows = f"{prediction.row_count:,} rows"
    job = getattr(prediction, "job", None) if prediction.source == "batch" else None
    summary = (job.summary or {}) if job is not None else {}
    if summary.get("class_counts"):
        counts = Counter({str(k): v for k, v in summary["class_counts"].items()})
    elif summary.get("mean") is not None:
        return f"{rows}: mean {number(summary['mean'])}"
    else:
        labels = [str(o["label"]) for o in outputs if o.get("label") is not None]
        counts = Counter(labels)
        if not labels:
            values = [o["value"] for o in outputs if isinstance(o.get("value"), int | float)]
            if not values:
                return rows
            mean = sum(values) / len(values)
            return (
                f"{rows}: mean {number(mean)}, from {number(min(values))} to {number(max(values))}"
            )
    shown = ", ".join(f"{n:,} {label}" for label, n in counts.most_common(3))
    return f"{rows}: {shown}" + (", …" if len(counts) > 3 else "")


@register.filter
def duration(start: Any, end: Any) -> str:
    """How long from ``start`` to ``end``: "4.2 s", "3 min 5 s", "1 h 2 min"."""
    if not start or not end:
        return ""
    seconds = (end - start).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    return f"{minutes // 60} h {minutes % 60} min"


@register.filter
def percent(value: Any, digits: int = 0) -> str:
    try:
        return f"{float(value):.{int(digits)}%}"
    except (TypeError, ValueError):
        return "–"


@register.simple_tag(takes_context=True)
def query(context, **changes: Any) -> str:
    """The current query string with some parameters changed (None removes one)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def lookup(mapping: dict, key: Any) -> Any:
    """``mapping[key]``, or None: for tables keyed by an input's name."""
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def humanize_reason(reason: str) -> str:
    """A refusal reason as words: ``unseen_category`` → "unseen category"."""
    return str(reason).replace("_", " ")
