"""Token authentication in one query: the token, its user and the user's role together.

DRF's own ``TokenAuthentication`` reads the token and user, and the role check then reads the
user's groups: two queries per call. :func:`caller_find` asks both at once, on every request,
so a revoked token or a changed role holds from the next request on in every process.
``Bearer`` is accepted beside ``Token`` (clients of the Open Inference Protocol send it).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from registry import roles

_RANKED = ((roles.MANAGER, 3), (roles.ANALYST, 2), (roles.VIEWER, 1))
_ROLE_OF_RANK = {rank: role for role, rank in _RANKED}
_caller_sql_of: dict[str, str] = {}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _caller_sql() -> str:
    sql = _caller_sql_of.get(connection.vendor)
    if sql is None:
        user_model = get_user_model()
        columns = ", ".join(f"u.{_q(f.column)}" for f in user_model._meta.concrete_fields)
        memberships = user_model.groups.through._meta
        # Group names are trusted constants, not caller input.
        ranks = " ".join(f"WHEN '{role}' THEN {rank}" for role, rank in _RANKED)
        sql = _caller_sql_of[connection.vendor] = (
            f"SELECT {columns}, (SELECT MAX(CASE g.{_q('name')} {ranks} ELSE 0 END)"
            f" FROM {_q(memberships.db_table)} ug"
            f" JOIN {_q(Group._meta.db_table)} g ON g.{_q('id')} = ug.{_q('group_id')}"
            f" WHERE ug.{_q('user_id')} = u.{_q(user_model._meta.pk.column)})"
            f" FROM {_q(Token._meta.db_table)} t"
            f" JOIN {_q(user_model._meta.db_table)} u"
            f" ON u.{_q(user_model._meta.pk.column)} = t.{_q('user_id')}"
            f" WHERE t.{_q('key')} = %s"
        )
    return sql


def caller_find(*, key: str) -> User | None:
    """The user a token key belongs to, with their role already known; None for no such token.

    One query: the user row and their highest role group. The role is set on the user so
    :func:`registry.roles.role_of` asks nothing more during the request.
    """
    with connection.cursor() as cursor:
        cursor.execute(_caller_sql(), [key])
        row = cursor.fetchone()
    if row is None:
        return None
    user_model = get_user_model()
    names = [f.attname for f in user_model._meta.concrete_fields]
    user = user_model.from_db(connection.alias, names, row[:-1])
    user._portal_role = _ROLE_OF_RANK.get(row[-1] or 0)
    return user


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
