"""A sensitive input's groups: its values, or bins of them when there are too many."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError

# More groups than this are not groups a reviewer can read: numbers are binned into
# ``BINS`` quantile bins of the reference rows, anything else is refused.
MAX_GROUPS = 20
BINS = 5
MISSING = "(missing)"


def _is_number(values: pd.Series) -> bool:
    present = values.dropna()
    return len(present) > 0 and all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
        for v in present
    )


def bin_edges(values: pd.Series) -> list[float] | None:
    """Quantile edges for a numeric column with more than ``MAX_GROUPS`` distinct values,
    else None (its values are its groups)."""
    present = pd.to_numeric(values.dropna(), errors="coerce").dropna()
    if present.nunique() <= MAX_GROUPS:
        return None
    edges = np.unique(np.quantile(present.to_numpy(dtype=float), np.linspace(0, 1, BINS + 1)))
    return [float(e) for e in edges]


def _bin_label(low: float, high: float, last: bool) -> str:
    return f"{low:g}–{high:g}" if last else f"{low:g}–<{high:g}"


def groups_of(values: pd.Series, edges: list[float] | None) -> pd.Series:
    """Each row's group as text: its value, its bin (``edges``), or ``MISSING``."""
    if edges is None:
        shown = values.map(
            lambda v: (
                MISSING
                if v is None or (isinstance(v, float) and np.isnan(v))
                else ("yes" if v is True else "no" if v is False else f"{v:g}")
                if isinstance(v, bool | float | np.floating)
                else str(v)
            )
        )
        return shown.astype(object)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    inner = np.asarray(edges[1:-1])
    index = np.searchsorted(inner, numbers, side="right")
    labels = [
        _bin_label(edges[i], edges[i + 1], i == len(edges) - 2) for i in range(len(edges) - 1)
    ]
    return pd.Series(
        [MISSING if np.isnan(x) else labels[i] for x, i in zip(numbers, index, strict=True)],
        index=values.index,
        dtype=object,
    )


def sensitive_check(name: str, spec: Mapping[str, Any], values: pd.Series) -> str:
    """Whether an input (or kept column) can be sensitive, judged on its reference values.

    Returns how its groups are made (a sentence); raises ``ValidationError`` for a category or
    text with more than ``MAX_GROUPS`` distinct values (they cannot be binned by order).
    """
    kind = spec.get("type")
    if kind in ("number", "integer") or (kind is None and _is_number(values)):
        edges = bin_edges(values)
        if edges is None:
            return "Its values are its groups."
        return f"It has many values: its groups are {len(edges) - 1} bins of equal rows."
    if kind == "date":
        raise ValidationError({"sensitive": [f"'{name}' is a date: it has no groups."]})
    distinct = len(spec.get("choices") or []) or values.dropna().astype(str).nunique()
    if distinct > MAX_GROUPS:
        raise ValidationError(
            {
                "sensitive": [
                    f"'{name}' has {distinct} distinct values: more than {MAX_GROUPS} groups "
                    "cannot be compared. Keep a coarser column (a band) in the reference data."
                ]
            }
        )
    return "Its values are its groups."
