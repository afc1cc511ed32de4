"""Who may see and do what on the pages: the API's rules, answered in HTML.

The order matches ``liftlab.api.scoping`` so nothing leaks: a non-member gets the same 404 as
for an environment that does not exist; switched-off experimentation and a viewer trying to
act are refused with 403 and the API's own sentence, shown by the ``403.html`` page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from liftlab.accounts.models import Environment, Role, role_of
from liftlab.api.scoping import ADMINS_ONLY, EXPERIMENTATION_DISABLED


@dataclass(frozen=True)
class Access:
    """The environment a page is about and the signed-in person's role in it."""

    environment: Environment
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDenied(ADMINS_ONLY)


def environment_access(request: HttpRequest, key: str) -> Access:
    """Resolve the environment of an experimentation page, or refuse (404, then 403)."""
    environment = Environment.objects.filter(key=key).first()
    role = role_of(request.user, environment) if environment else None
    if environment is None or role is None:
        raise Http404("No environment with that key.")
    if not environment.experimentation_enabled:
        raise PermissionDenied(EXPERIMENTATION_DISABLED)
    return Access(environment, role)
