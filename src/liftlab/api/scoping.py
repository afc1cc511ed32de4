"""Environment-scoped access: who may read and who may change what.

Order of checks, so that nothing leaks: not signed in → 401; not a member (and not a
superuser) → 404, as if the environment did not exist; experimentation switched off →
403 on experiment and metric endpoints; a viewer trying to change something → 403.
"""

from __future__ import annotations

from functools import cached_property

from django.http import Http404
from rest_framework import permissions
from rest_framework.exceptions import PermissionDenied

from liftlab.accounts.models import Environment, Role, role_of

EXPERIMENTATION_DISABLED = "Experimentation is disabled for this environment."
ADMINS_ONLY = "Only the environment's admins may change this."


class MethodsFirst:
    """An unsupported method is a 405 for anyone; ``OPTIONS`` answers 200 for anyone.

    DRF checks permissions before it looks for the method's handler, so a viewer's ``PUT``
    would be a 403 and a ``PUT`` on a list a permission check with no environment to check.
    A browser's pre-flight ``OPTIONS`` carries no credentials: it gets the ``Allow`` header
    (and, for those allowed to write, the fields DRF's metadata describes).
    """

    def check_permissions(self, request) -> None:
        method = request.method.lower()
        if method == "options":
            return
        if method not in self.http_method_names or getattr(self, method, None) is None:
            self.http_method_not_allowed(request)
        super().check_permissions(request)


class EnvironmentScopedMixin(MethodsFirst):
    """For views under ``environments/{environment_key}/``: resolves the environment once."""

    environment_url_kwarg = "environment_key"
    requires_experimentation = False

    @cached_property
    def _access(self) -> tuple[Environment, str]:
        environment = Environment.objects.filter(
            key=self.kwargs[self.environment_url_kwarg]
        ).first()
        role = role_of(self.request.user, environment) if environment else None
        if environment is None or role is None:
            raise Http404("No environment with that key.")
        return environment, role

    @property
    def environment(self) -> Environment:
        return self._access[0]

    @property
    def role(self) -> str:
        return self._access[1]


class EnvironmentAccess(permissions.BasePermission):
    """Members read; admins write; the experimentation gate applies where the view asks."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        environment = view.environment
        if view.requires_experimentation and not environment.experimentation_enabled:
            raise PermissionDenied(EXPERIMENTATION_DISABLED)
        if request.method not in permissions.SAFE_METHODS and view.role != Role.ADMIN:
            raise PermissionDenied(ADMINS_ONLY)
        return True
