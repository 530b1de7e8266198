"""Who may open a page: one helper used by every view that needs more than a login."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404

from registry import selectors
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


def model_or_404(name: str):
    """The model named in a URL, or 404 with the reason."""
    try:
        return selectors.registered_model_get(name=name)
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
        return selectors.model_version_select(
            model=model, version=number, alias=params.get("alias") or None
        )
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None
