"""Login lockout: repeated wrong passwords for one username, or from one address, lock
logins there for a while, on the site's login and the admin's alike.

Failures are counted in the shared cache (Redis or the database table, see settings), so
every process and host sees the same counts. A small module rather than django-axes: the
portal already has the shared cache, and this needs no tables, middleware or backend of its
own. The lock is checked before the password, so the right one does not get through either.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache


def client_address(request: Any) -> str:
    """The client's address: REMOTE_ADDR, or the entry that many trusted proxies from the
    right of X-Forwarded-For (``TRUSTED_PROXY_COUNT``)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "")


def _keys(request: Any, username: str) -> list[tuple[str, int]]:
    limits = settings.PORTAL
    return [
        (f"login-failures:user:{username.strip().lower()}", limits["LOGIN_FAILURES_PER_USER"]),
        (f"login-failures:address:{client_address(request)}", limits["LOGIN_FAILURES_PER_ADDRESS"]),
    ]


def login_locked(*, request: Any, username: str) -> bool:
    """Whether logins for ``username`` or from the request's address are locked now."""
    return any((cache.get(key) or 0) >= limit for key, limit in _keys(request, username))


def login_failed(*, request: Any, username: str) -> None:
    """Count a wrong password; a count that reaches its limit locks for the full period."""
    seconds = settings.PORTAL["LOGIN_LOCKOUT_SECONDS"]
    for key, limit in _keys(request, username):
        if cache.add(key, 1, seconds):
            continue
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, seconds)
            continue
        if count >= limit:
            cache.touch(key, seconds)


def login_succeeded(*, request: Any, username: str) -> None:
    """A right password (while not locked) clears the username's count, not the address's."""
    cache.delete(_keys(request, username)[0][0])


class LockoutMixin:
    """For an ``AuthenticationForm``: refuse while locked, count wrong passwords."""

    locked = False

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        self.locked = login_locked(request=self.request, username=username)
        if self.locked:
            minutes = max(1, round(settings.PORTAL["LOGIN_LOCKOUT_SECONDS"] / 60))
            raise forms.ValidationError(
                "Too many failed logins for this account or from your address. Logins "
                f"there are locked for {minutes} minutes; try again later.",
                code="locked",
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            login_failed(request=self.request, username=username)
            raise
        login_succeeded(request=self.request, username=username)
        return cleaned


class LoginForm(LockoutMixin, AuthenticationForm):
    """The site's login form, with lockout."""


class AdminLoginForm(LockoutMixin, AdminAuthenticationForm):
    """The admin's login form, with lockout."""
