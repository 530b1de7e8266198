"""Why, and what would it take: explanations and counterfactuals of one row's answer."""

from __future__ import annotations

from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError

from registry.explain.counterfactuals import (
    MARGIN_POINTS,
    Search,
    counterfactual_target,
    counterfactuals_find,
)
from registry.explain.explanations import (
    Background,
    Explanation,
    explain,
    explanation_background,
)
from registry.interface import Interface, InvalidInput
from registry.models import (
    ModelVersion,
    Prediction,
)
from registry.runtime import version_cached, version_estimator, version_interface


# ---------------------------------------------------------------- why, and what would it take
def version_background(version: ModelVersion) -> Background:
    """The version's explanation background (reference rows and answers), once per process."""
    return version_cached(
        version,
        "background",
        lambda: explanation_background(
            estimator=version_estimator(version),
            interface=version_interface(version),
            reference=version.reference_sample,
        ),
    )


def version_background_or_none(version: ModelVersion) -> Background | None:
    """The version's explanation background, or None when it cannot have one."""
    try:
        return version_background(version)
    except ValidationError:  # no reference rows, or a labels-only model: nothing to explain
        return None


def version_reference_inputs(version: ModelVersion) -> pd.DataFrame | None:
    """The version's reference rows as typed inputs (for spreads), once per process."""
    interface = version_interface(version)

    def build() -> pd.DataFrame:
        records = [{n: r.get(n) for n in interface.names} for r in version.reference_sample]
        if not records:
            return pd.DataFrame(columns=interface.names)
        return interface.validate_frame(pd.DataFrame(records)).frame

    frame = version_cached(version, "reference_inputs", build)
    return frame if len(frame) else None


def explanation_build(
    *, version: ModelVersion, row: dict[str, Any], target_class: Any = None
) -> Explanation:
    """Explain one row's answer from ``version`` (validated first; nothing is stored).

    Raises ``InvalidInput`` naming the bad field, or ``ValidationError`` for an unknown class.
    """
    interface = version_interface(version)
    frame = _one_row(interface, row)
    return explain(
        estimator=version_estimator(version),
        interface=interface,
        row=frame,
        background=version_background(version),
        target_class=target_class,
    )


def counterfactual_search(
    *,
    version: ModelVersion,
    row: dict[str, Any],
    target: Any,
    fixed: list[str] | None = None,
    max_changes: int = 2,
    count: int = 3,
    margin: float = MARGIN_POINTS,
) -> Search:
    """What would it take for ``row`` to get ``target`` (a class, or ``{"min", "max"}``),
    clearly: by ``margin`` points (see ``registry.explain.counterfactuals.Target.needed``)."""
    interface = version_interface(version)
    frame = _one_row(interface, row)
    return counterfactuals_find(
        estimator=version_estimator(version),
        interface=interface,
        row=frame,
        target=counterfactual_target(interface=interface, target=target, margin=margin),
        reference=version_reference_inputs(version),
        fixed=fixed or [],
        max_changes=max_changes,
        count=count,
    )


def _one_row(interface: Interface, row: Any) -> pd.DataFrame:
    if not isinstance(row, dict):
        raise InvalidInput({0: {"inputs": ["Send one row: an object of input: value."]}})
    return interface.validate([row]).frame


def prediction_explanation(*, prediction: Prediction) -> Explanation | None:
    """The explanation of a stored one-row answer (of the class it gave), or None when there
    is none to give: several rows, a labels-only model, or no reference rows."""
    if prediction.row_count != 1 or not prediction.inputs:
        return None
    return answer_explanation(version=prediction.version, row=prediction.inputs[0])


def answer_explanation(*, version: ModelVersion, row: dict[str, Any]) -> Explanation | None:
    """The explanation of one row's answer, or None when the version cannot give one (a
    labels-only model, no reference rows): a page then shows the answer without it."""
    try:
        return explanation_build(version=version, row=row)
    except ValidationError:
        return None
