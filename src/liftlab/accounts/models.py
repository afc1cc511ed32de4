"""Environments and who may do what in them."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

# The alphabet of ``secrets.token_urlsafe``: URLs whose key cannot exist never reach the database
# (PostgreSQL refuses to even compare a NUL character).
ENVIRONMENT_KEY_PATTERN = r"[A-Za-z0-9_-]+"
# Usernames in URLs: anything but a slash, and never NUL (see above).
USERNAME_PATTERN = r"[^/\x00]+"


def new_environment_key() -> str:
    """A random, URL-safe key: it names the environment in URLs (ingestion keys authenticate).

    Never one starting with '-': command lines would read it as an option (``--environment KEY``).
    """
    while (key := secrets.token_urlsafe(16)).startswith("-"):
        pass
    return key


class Environment(models.Model):
    name = models.CharField(max_length=200)
    key = models.CharField(max_length=64, unique=True, default=new_environment_key, editable=False)
    experimentation_enabled = models.BooleanField(default=True)
    # Whether POST /api/v1/events/ still takes this key (X-Environment-Key) as a credential:
    # on for environments made before ingestion keys existed, off for new ones; an admin turns
    # it off once every sender has an ingestion key (docs/ingestion-keys.md).
    legacy_environment_key_ingestion = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin"
    VIEWER = "viewer"


class Membership(models.Model):
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.environment}"


def role_of(user, environment: Environment) -> str | None:
    """The user's role in the environment; superusers act as admins everywhere."""
    if user.is_superuser:
        return Role.ADMIN
    membership = Membership.objects.filter(environment=environment, user=user).first()
    return membership.role if membership else None
