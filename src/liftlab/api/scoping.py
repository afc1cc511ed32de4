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


class EnvironmentScopedMixin:
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
