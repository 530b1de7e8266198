"""Template tags of the portal: figures, metric formatting, query strings."""

import json
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from charts.evaluation import METRIC_LABELS

register = template.Library()

# The same escapes as Django's json_script: nothing in the JSON can close the <script>.
_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag
def plot(figure: dict[str, Any] | None, label: str = "", css_class: str = "") -> str:
    """A figure as a container plus its JSON; static/js/plots.js draws it.

    ``label`` becomes the container's accessible name (role="img").
    """
    if not figure:
        return ""
    data = json.dumps(figure, cls=DjangoJSONEncoder, separators=(",", ":")).translate(_JSON_ESCAPES)
    title = label or figure.get("layout", {}).get("title", {}).get("text", "Chart")
    return format_html(
        '<figure class="plot {}" role="img" aria-label="{}">'
        '<div class="plot-canvas" data-plot-canvas></div>'
        '<noscript><p class="small muted">This chart needs JavaScript.</p></noscript>'
        '<script type="application/json" data-plotly>{}</script></figure>',
        css_class,
        title,
        mark_safe(data),
    )


@register.filter
def metric_name(key: str) -> str:
    return METRIC_LABELS.get(key, key)


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
def percent(value: Any) -> str:
    try:
        return f"{float(value):.0%}"
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
