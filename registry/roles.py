"""Who may do what. Roles are Django groups; each includes the ones below it.

- viewer: read models, charts and their own history;
- analyst: also predict, compare, score batches and give feedback;
- manager: also register versions, set aliases and see everyone's predictions.

Superusers can do everything. Every page and API view asks here, never inline.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

VIEWER, ANALYST, MANAGER = "viewer", "analyst", "manager"
ROLES = (VIEWER, ANALYST, MANAGER)
_RANK = {VIEWER: 1, ANALYST: 2, MANAGER: 3}


def role_of(user: User | AnonymousUser) -> str | None:
    """The highest role a user holds, or None."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return MANAGER
    cached = getattr(user, "_portal_role", False)
    if cached is not False:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    role = max((r for r in ROLES if r in names), key=_RANK.__getitem__, default=None)
    user._portal_role = role
    return role


def acting_user(user: User | AnonymousUser | None) -> User | None:
    """The user an audit record names: None for an anonymous caller or none at all."""
    return user if user is not None and user.is_authenticated else None


def has_role(user: User | AnonymousUser, role: str) -> bool:
    """Whether the user holds ``role`` or one above it."""
    held = role_of(user)
    return held is not None and _RANK[held] >= _RANK[role]
