"""Login lockout that an attacker cannot turn against the people it protects.

Three counts of wrong passwords, on the site's login and the admin's alike:

- **account and address** (django-axes' "combination" mode): ``LOGIN_FAILURES_PER_USER``
  wrong passwords for one account from one address lock that address out of that account for
  ``LOGIN_LOCKOUT_SECONDS``; the right password does not get through meanwhile. Its owner,
  elsewhere, still logs in.
- **account**, from anywhere: past ``LOGIN_FAILURES_PER_USER`` wrong passwords, each further
  attempt at the account must wait 1 s after the last failure, then 2, 4… up to
  ``LOGIN_SLOWDOWN_MAX_SECONDS``: a guesser spread over many addresses gets a few guesses a
  minute, and the account is never locked. An address that has logged into the account
  before (remembered ``KNOWN_SECONDS``) does not wait.
- **address**, for names that are no account: ``LOGIN_FAILURES_PER_ADDRESS`` of them and
  the address may try no more such names for ``LOGIN_LOCKOUT_SECONDS``; its attempts at real
  accounts are counted as above, so people behind one proxy do not lock each other out.
  (User names are no secret here: model cards show who registered each version.)

An account is the user the name logs in as (``get_by_natural_key``, as Django's backend looks
it up), so variants of a name that are no account ("ADMIN ", "Admin") never touch the
account's counts. Counts live in the shared cache (Redis or the database table, see settings),
so every process and host sees the same. A small module rather than django-axes: axes locks
(it has no slow-down, and no rule for unknown names) and brings its own backend, middleware
and tables; this needs the cache the portal already shares.
"""

from __future__ import annotations

import math
import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache

# How long an address that logged into an account is spared that account's slow-down.
KNOWN_SECONDS = 30 * 24 * 3600


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


def account_id(username: str) -> int | None:
    """The id of the user ``username`` logs in as, or None when it names no account."""
    model = get_user_model()
    try:
        return model._default_manager.get_by_natural_key(username).pk
    except model.DoesNotExist:
        return None


def _count(key: str, seconds: int) -> int:
    """Add one to a count that lasts ``seconds`` after its latest addition."""
    if cache.add(key, 1, seconds):
        return 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, seconds)
        return 1
    cache.touch(key, seconds)  # the database cache's incr resets the timeout to its default
    return count


class Attempt:
    """One login attempt's keys: who it names, from where."""

    def __init__(self, request: Any, username: str):
        self.user = account_id(username) if username else None
        address = client_address(request)
        self.pair = f"login-failures:pair:{self.user}:{address}"
        self.account = f"login-failures:account:{self.user}"
        self.wait_until = f"login-wait:account:{self.user}"
        self.known = f"login-known:{self.user}:{address}"
        self.address = f"login-failures:unknown-names:{address}"

    def refusal(self) -> str | None:
        """Why this attempt is refused before its password is checked, or None."""
        limits = settings.PORTAL
        minutes = max(1, round(limits["LOGIN_LOCKOUT_SECONDS"] / 60))
        if self.user is None:
            if (cache.get(self.address) or 0) >= limits["LOGIN_FAILURES_PER_ADDRESS"]:
                return (
                    "Too many failed logins from your address with names that are no account. "
                    f"Such logins from there are refused for {minutes} minutes."
                )
            return None
        if (cache.get(self.pair) or 0) >= limits["LOGIN_FAILURES_PER_USER"]:
            return (
                "Too many failed logins for this account from your address. Logins to it from "
                f"there are locked for {minutes} minutes; try again later."
            )
        until = cache.get(self.wait_until)
        if until and not cache.get(self.known):
            seconds = math.ceil(until - time.time())
            if seconds > 0:
                return (
                    "Too many failed logins for this account lately. "
                    f"Try again in {seconds} second{'s' if seconds != 1 else ''}."
                )
        return None

    def failed(self) -> None:
        """Count a wrong password."""
        limits = settings.PORTAL
        period = limits["LOGIN_LOCKOUT_SECONDS"]
        if self.user is None:
            _count(self.address, period)
            return
        _count(self.pair, period)
        beyond = _count(self.account, period) - limits["LOGIN_FAILURES_PER_USER"]
        if beyond >= 0:
            wait = min(2**beyond, limits["LOGIN_SLOWDOWN_MAX_SECONDS"])
            cache.set(self.wait_until, time.time() + wait, wait)

    def succeeded(self) -> None:
        """A right password clears this address's count for the account and remembers the
        address; the account's count from everywhere stays (it is someone else's)."""
        cache.delete(self.pair)
        cache.set(self.known, 1, KNOWN_SECONDS)


class LockoutMixin:
    """For an ``AuthenticationForm``: refuse locked or too-early attempts, count failures."""

    locked = False

    def clean(self) -> dict[str, Any]:
        attempt = Attempt(self.request, self.cleaned_data.get("username") or "")
        refusal = attempt.refusal()
        self.locked = refusal is not None
        if refusal:
            raise forms.ValidationError(refusal, code="locked")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            attempt.failed()
            raise
        if self.user_cache is not None:
            attempt.succeeded()
        return cleaned


class LoginForm(LockoutMixin, AuthenticationForm):
    """The site's login form, with lockout."""


class AdminLoginForm(LockoutMixin, AdminAuthenticationForm):
    """The admin's login form, with lockout."""
