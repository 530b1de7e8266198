"""The figure of an explanation: each input's effect on one answer."""

from __future__ import annotations

from typing import Any

import charts
from charts import Figure
from registry.explain.explanations import answer_text, effect_text
from registry.models import ModelVersion


def explanation_figure(version: ModelVersion, explanation: Any) -> Figure:
    """The waterfall of an explanation, labelled in the version's terms."""
    output = version.interface["output"]
    probability = explanation.task == "classification"
    unit = None if probability else output.get("unit")
    # Numbers written as the sentence beside it writes them (points, the headline's figures).
    return charts.explanation_waterfall(
        explanation.contributions,
        baseline=explanation.baseline,
        answer=explanation.answer,
        explained=explanation.explained,
        probability=probability,
        unit=unit,
        effect_text=lambda v: effect_text(v, probability, unit),
        answer_text=lambda v: answer_text(v, probability, unit),
    )
