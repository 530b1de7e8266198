"""Who may open a page: one helper used by every view that needs more than a login."""

import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render

from portal.web.throttles import OverBudget
from registry.catalog.selectors import model_version_select, registered_model_get
from registry.roles import has_role


def role_required(role: str) -> Callable:
    """Log in first, then hold ``role`` (or one above it); otherwise 403 with the reason."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, role):
                raise PermissionDenied(f"This page needs the {role} role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def throttled(throttle_class: type, methods: tuple[str, ...] = ("GET", "POST")) -> Callable:
    """Count the view's requests (``methods``) against the API's throttle of the same kind:
    one budget per user for pages and API alike. Over it, or over a budget the view charges
    itself (``RowBudget``): 429 with Retry-After."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods:
                throttle = throttle_class()
                if not throttle.allow_request(request, None):
                    return too_many_requests(request, throttle.wait())
            try:
                return view(request, *args, **kwargs)
            except OverBudget as exc:
                return too_many_requests(request, exc.wait, str(exc.detail))

        return wrapped

    return decorator


def too_many_requests(request, wait: float, message: str = "") -> HttpResponse:
    seconds = max(1, math.ceil(wait))
    ctx = {"seconds": seconds, "message": message}
    response = render(request, "429.html", ctx, status=429)
    response["Retry-After"] = str(seconds)
    return response


def model_or_404(name: str):
    """The model named in a URL, or 404 with the reason."""
    try:
        return registered_model_get(name=name)
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None


def version_or_404(model, params) -> Any:
    """The version a page's ``version``/``alias`` parameters select, or 404 with the reason."""
    raw = params.get("version") or None
    try:
        number = int(raw) if raw is not None else None
    except ValueError:
        raise Http404("The version must be a number.") from None
    try:
        return model_version_select(model=model, version=number, alias=params.get("alias") or None)
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None
