"""Who may call what: the three roles of ``registry.roles``, as DRF permission classes.

An anonymous caller is refused with 401 (DRF raises ``NotAuthenticated`` when no authenticator
succeeded), an authenticated caller without the role with 403.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from registry import roles


class HasRole(BasePermission):
    """Holds ``role`` (or one above it)."""

    role = roles.VIEWER
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        return roles.has_role(request.user, self.role)


class IsViewer(HasRole):
    role = roles.VIEWER
    message = "Only viewers, analysts and managers may read models."


class IsAnalyst(HasRole):
    role = roles.ANALYST
    message = "Only analysts and managers may do this."


class IsManager(HasRole):
    role = roles.MANAGER
    message = "Only managers may do this."


class ManagerWrites(BasePermission):
    """Reading is left to the other permissions; changing anything needs a manager."""

    message = "Only managers may register versions and set aliases."

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or roles.has_role(request.user, roles.MANAGER)
