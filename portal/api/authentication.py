"""Token authentication in one query: the token, its user and the user's role together.

DRF's own ``TokenAuthentication`` reads the token and user, and the role check then reads the
user's groups: two queries per call. :func:`registry.predict.serving.caller_find` asks both at once,
on every request, so a revoked token or a changed role holds from the next request on in
every process. ``Bearer`` is accepted beside ``Token`` (clients of the Open Inference
Protocol send it).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from registry.predict.serving import caller_find

KEYWORDS = (b"token", b"bearer")


def token_key(header: bytes) -> str | None:
    """The key of an ``Authorization: Token <key>`` (or ``Bearer``) header; None if neither.

    Raises ``AuthenticationFailed`` for a malformed header of either kind.
    """
    parts = header.split()
    if not parts or parts[0].lower() not in KEYWORDS:
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed(
            _("Invalid token header: send 'Token <key>' (or 'Bearer <key>'), one key, no spaces.")
        )
    try:
        return parts[1].decode()
    except UnicodeError:
        raise exceptions.AuthenticationFailed(
            _("Invalid token header. Token string should not contain invalid characters.")
        ) from None


def token_user(key: str):
    """The active user a token key belongs to; ``AuthenticationFailed`` otherwise."""
    user = caller_find(key=key)
    if user is None:
        raise exceptions.AuthenticationFailed(_("Invalid token."))
    if not user.is_active:
        raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
    return user


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate(self, request):
        key = token_key(authentication.get_authorization_header(request))
        if key is None:
            return None
        return token_user(key), key
