"""Data quality per input and window: missing values, values outside the observed training
range, categories the reference rows never show, and refused calls by reason.

The first three are counted on the rows drift over time already reads for each window
(:func:`quality_counts`, pure); refusals come from ``Refusal`` (a refused call stores
nothing), per UTC day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from registry.interface import Interface
from registry.models import ModelVersion, Refusal
from registry.monitoring.windows import Period

CHECKED_TYPES = ("number", "integer", "category", "boolean")


def quality_counts(
    *,
    interface: Interface,
    reference: Sequence[Mapping[str, Any]],
    rows: Sequence[Mapping[str, Any]],
) -> dict[str, dict[str, int]]:
    """Per input: ``{"missing", "out_of_range", "unseen_categories"}`` counts over ``rows``.

    Out of range: a number outside the interface's observed (training) range. Unseen: a
    category value none of the reference rows holds (a declared choice can still be unseen).
    """
    found = {}
    for field_ in interface.fields:
        if field_.type not in CHECKED_TYPES:
            continue
        values = [row.get(field_.name) for row in rows]
        counts = {"missing": sum(v is None for v in values), "out_of_range": 0}
        counts["unseen_categories"] = 0
        if field_.type in ("number", "integer"):
            low, high = field_.observed_min, field_.observed_max
            counts["out_of_range"] = sum(
                isinstance(v, int | float)
                and ((low is not None and v < low) or (high is not None and v > high))
                for v in values
            )
        elif field_.type == "category" and reference:
            seen = {str(r.get(field_.name)) for r in reference}
            counts["unseen_categories"] = sum(v is not None and str(v) not in seen for v in values)
        found[field_.name] = counts
    return found


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _refusals(version: ModelVersion, period: Period) -> list[tuple[dt.date, str, str, int]]:
    return list(
        Refusal.objects.filter(
            version=version,
            source__in=period.sources,
            day__gte=period.since.astimezone(dt.UTC).date(),
            day__lte=period.until.astimezone(dt.UTC).date(),
        ).values_list("day", "input", "reason", "count")
    )


def monitoring_quality(
    *, version: ModelVersion, period: Period, windows: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Per input (and "(call)" when a refusal concerned the call as a whole): rates over the
    period's sampled rows, refused calls by reason, and the same per window.

    ``windows`` are drift over time's, each carrying ``quality`` counts and ``rows``.
    Rates are shares of the rows read; refusals are counts of calls (a window gets the
    refusals of the UTC days it starts in, so an hourly window gets none: ``None``).
    """
    interface = Interface(version.interface)
    hourly = period.hourly
    refusals = _refusals(version, period)
    names = [f.name for f in interface.fields if f.type in CHECKED_TYPES]
    names += sorted({name for _, name, _, _ in refusals} - set(names))
    spans = [
        (dt.datetime.fromisoformat(w["start"]), dt.datetime.fromisoformat(w["end"]))
        for w in windows
    ]
    found = []
    for name in names:
        by_reason: dict[str, int] = {}
        for _, input_, reason, count in refusals:
            if input_ == name:
                by_reason[reason] = by_reason.get(reason, 0) + count
        series, totals, rows_read = [], {"missing": 0, "out_of_range": 0, "unseen": 0}, 0
        for window, (start, end) in zip(windows, spans, strict=True):
            counts = (window.get("quality") or {}).get(name)
            rows = window.get("rows") or 0
            refused = None
            if not hourly:
                refused = sum(
                    c
                    for day, input_, _, c in refusals
                    if input_ == name and start <= _midnight(day) < end
                )
            point = {"start": window["start"], "rows": rows, "refused": refused}
            for key, total in (
                ("missing", "missing"),
                ("out_of_range", "out_of_range"),
                ("unseen_categories", "unseen"),
            ):
                value = counts.get(key, 0) if counts else 0
                point[key] = round(value / rows, 6) if rows and counts else None
                totals[total] += value if counts else 0
            if counts:
                rows_read += rows
            series.append(point)
        found.append(
            {
                "input": name,
                "label": interface.by_name[name].spec.get("label") or name
                if name in interface.by_name
                else name,
                "rows": rows_read,
                "missing": round(totals["missing"] / rows_read, 6) if rows_read else None,
                "out_of_range": round(totals["out_of_range"] / rows_read, 6) if rows_read else None,
                "unseen_categories": round(totals["unseen"] / rows_read, 6) if rows_read else None,
                "refused": sum(by_reason.values()),
                "refused_by_reason": by_reason,
                "series": series,
            }
        )
    return found
