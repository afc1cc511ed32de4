"""Who a command's change is recorded as: an active admin of the environment, as in the API."""

from __future__ import annotations

from liftlab.cli import CommandError


def admin_actor(
    username: str | None,
    environment,
    *,
    doing: str,
    refusal: str,
    requires_experimentation: bool = False,
):
    """The user named by ``--actor``, refused unless an active admin of ``environment``.

    ``doing`` completes "--actor USERNAME is needed to …"; ``refusal`` says why a member who is
    not an admin may not.
    """
    from django.contrib.auth import get_user_model

    from liftlab.accounts.models import Role, role_of
    from liftlab.api.scoping import EXPERIMENTATION_DISABLED

    if not username:
        raise CommandError(f"--actor USERNAME is needed to {doing}")
    actor = get_user_model().objects.filter(username=username, is_active=True).first()
    if actor is None:
        raise CommandError(f"--actor: no active user named {username!r}")
    if requires_experimentation and not environment.experimentation_enabled:
        raise CommandError(EXPERIMENTATION_DISABLED)
    if role_of(actor, environment) != Role.ADMIN:
        raise CommandError(f"--actor {username}: {refusal}")
    return actor
