"""The API's why and what-would-it-take: explanations and counterfactuals."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api import serializers as s
from portal.api.base import (
    CHOOSING,
    MODEL_CALL_ERRORS,
    VERSION_QUERY,
    VersionedView,
    errors,
    valid_data,
)
from portal.web.permissions import IsAnalyst
from portal.web.throttles import ModelCallThrottle, RowBudget
from registry.explain import counterfactuals, explanations
from registry.explain.selectors import counterfactual_search, explanation_build

# A counterfactual search scores batches until it has enough or its time is up (0.5 s): an
# impossible one tries 60,000-330,000 rows of a cheap model. It is charged what its time
# buys a predict or a compare (about 40,000 rows a second, bench/cost_of_limits.py).
SEARCH_COST = round(counterfactuals.BUDGET_SECONDS * 40_000)


class ExplainView(VersionedView):
    permission_classes = [IsAnalyst]
    throttle_classes = [ModelCallThrottle]

    @extend_schema(
        operation_id="explain",
        tags=["predictions"],
        summary="Why one answer: how far each input pushed it from the average (not stored)",
        description=(
            "One effect per input of the interface (an input the model encodes as several "
            "columns is still one), Shapley values against a fixed sample of the version's "
            "reference rows: `baseline` (their average answer) + the sum of `effect` equals "
            "`answer` to within 1e-6. For a classifier the answer is the probability of "
            "`class` (by default a binary classifier's positive class, else the predicted class: "
            f"the class the pages follow). {CHOOSING}"
        ),
        parameters=VERSION_QUERY,
        request=s.ExplainRequestSerializer,
        responses={200: s.ExplainResponseSerializer, **errors(*MODEL_CALL_ERRORS)},
    )
    def post(self, request: Request, name: str) -> Response:
        data = valid_data(s.ExplainRequestSerializer, request.data)
        version = self.version_of(name, data)
        # At most this many rows scored (besides the cached background's answers).
        cost = 1 + explanations.MAX_ROWS + explanations.BACKGROUND_ROWS
        with RowBudget(request.user, scored=cost):
            explanation = explanation_build(
                version=version, row=data["inputs"], target_class=data.get("class")
            )
        context = {"request": request, "chart": data["chart"], "version": version}
        return Response(s.ExplainResponseSerializer(explanation, context=context).data)


class CounterfactualsView(VersionedView):
    permission_classes = [IsAnalyst]
    throttle_classes = [ModelCallThrottle]

    @extend_schema(
        operation_id="counterfactuals",
        tags=["predictions"],
        summary="What would it take: the smallest changes of inputs that get another answer",
        description=(
            "Up to `count` rows, cheapest first (change measured in each input's spread), each "
            "changing at most `max_changes` inputs, none of them `fixed` or declared not "
            "actionable, every value inside the interface (observed range, limits, step, "
            "declared direction). Every row returned was re-scored by the model and gets "
            "`target` clearly: the class's probability ahead of every other by `margin` points "
            "(default 5), or the value inside the range by `margin`% of its width (of the way "
            "from the current answer, for a range with one end). None found: an empty list "
            "and a `message` saying what was searched. "
            f"The search stops within one second. {CHOOSING}"
        ),
        parameters=VERSION_QUERY,
        request=s.CounterfactualsRequestSerializer,
        responses={200: s.CounterfactualsResponseSerializer, **errors(*MODEL_CALL_ERRORS)},
    )
    def post(self, request: Request, name: str) -> Response:
        data = valid_data(s.CounterfactualsRequestSerializer, request.data)
        version = self.version_of(name, data)
        with RowBudget(request.user, scored=SEARCH_COST):
            search = counterfactual_search(
                version=version,
                row=data["inputs"],
                target=data["target"],
                fixed=data["fixed"],
                max_changes=data["max_changes"],
                count=data["count"],
                margin=data["margin"],
            )
        context = {"request": request, "version": version}
        return Response(s.CounterfactualsResponseSerializer(search, context=context).data)
