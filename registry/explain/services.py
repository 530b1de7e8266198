"""Writes of explanations: a stored answer keeps the explanation it was shown with."""

from __future__ import annotations

from dataclasses import asdict

from registry.explain.explanations import (
    Explanation,
)
from registry.explain.selectors import prediction_explanation
from registry.models import (
    Prediction,
)


def prediction_explanation_keep(*, prediction: Prediction) -> Explanation | None:
    """The explanation of a stored answer (see ``selectors.prediction_explanation``),
    computed once and kept with it: its page and its embed, which anyone holding a share link
    may open as often as they like, read it back instead of running the model again."""
    if prediction.explanation is not None:
        return Explanation(**prediction.explanation) if prediction.explanation else None
    explanation = prediction_explanation(prediction=prediction)
    kept = asdict(explanation) if explanation is not None else {}
    Prediction.objects.filter(pk=prediction.pk).update(explanation=kept)
    prediction.explanation = kept
    return explanation
