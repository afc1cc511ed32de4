"""How ``POST /api/v1/events/`` knows who is sending: an ingestion key, or (legacy) the
environment's key where the environment still allows it.

``Authorization: Bearer ll_ik_…`` is the credential. ``X-Environment-Key`` is accepted only by
environments whose ``legacy_environment_key_ingestion`` is on (those created before ingestion
keys existed, until an admin turns it off); it is refused everywhere else. Either way the view
learns the environment as ``request.auth.environment``. See docs/ingestion-keys.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication

from liftlab.accounts.models import ENVIRONMENT_KEY_PATTERN, Environment
from liftlab.api.scoping import EXPERIMENTATION_DISABLED
from liftlab.ingestion_keys.models import IngestionKey
from liftlab.ingestion_keys.services import authenticate

BEARER = "Bearer"
LEGACY_HEADER = "X-Environment-Key"
SEND_A_KEY = (
    "Send an ingestion key as 'Authorization: Bearer ll_ik_…' "
    "(an environment admin creates one under environments/{key}/ingestion-keys/)."
)
INVALID_KEY = "The ingestion key is not valid: unknown, revoked or rotated away."
LEGACY_OFF = (
    "This environment no longer accepts its environment key (X-Environment-Key) for "
    "ingestion. " + SEND_A_KEY
)


@dataclass(frozen=True)
class IngestionCredential:
    """What authenticated a batch: its environment and the key (None for the legacy header)."""

    environment: Environment
    key: IngestionKey | None = None


class IngestionKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <ingestion key>``; a bad key is a 401, never a fall-through."""

    def authenticate(self, request):
        # Read as text: anything that is not a key's ASCII shape is refused before the database.
        words = str(request.META.get("HTTP_AUTHORIZATION", "")).split()
        if not words or words[0].lower() != BEARER.lower():
            return None
        if len(words) != 2:
            raise exceptions.AuthenticationFailed(f"Malformed Authorization header. {SEND_A_KEY}")
        key = authenticate(words[1])
        if key is None:
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        return AnonymousUser(), IngestionCredential(key.environment, key)

    def authenticate_header(self, request) -> str:
        return f'{BEARER} realm="liftlab ingestion"'


class LegacyEnvironmentKeyAuthentication(BaseAuthentication):
    """``X-Environment-Key``, for environments whose legacy setting is still on."""

    def authenticate(self, request):
        presented = request.headers.get(LEGACY_HEADER)
        if not presented:
            return None
        environment = None
        if re.fullmatch(ENVIRONMENT_KEY_PATTERN, presented):
            environment = Environment.objects.filter(key=presented).first()
        if environment is None:
            raise exceptions.AuthenticationFailed(f"Unknown environment key. {SEND_A_KEY}")
        if not environment.legacy_environment_key_ingestion:
            raise exceptions.AuthenticationFailed(LEGACY_OFF)
        return AnonymousUser(), IngestionCredential(environment)


AUTHENTICATION = [IngestionKeyAuthentication, LegacyEnvironmentKeyAuthentication]


class HasIngestionCredential(permissions.BasePermission):
    """A batch needs a credential (else 401) for an environment that experiments (else 403)."""

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, IngestionCredential):
            raise exceptions.NotAuthenticated(SEND_A_KEY)
        if not request.auth.environment.experimentation_enabled:
            raise exceptions.PermissionDenied(EXPERIMENTATION_DISABLED)
        return True


class IngestionKeyScheme(OpenApiAuthenticationExtension):
    target_class = IngestionKeyAuthentication
    name = "ingestionKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "ll_ik_…",
            "description": "An ingestion key (`Authorization: Bearer ll_ik_…`), made by an "
            "environment admin under `environments/{key}/ingestion-keys/`.",
        }


class LegacyEnvironmentKeyScheme(OpenApiAuthenticationExtension):
    target_class = LegacyEnvironmentKeyAuthentication
    name = "legacyEnvironmentKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": LEGACY_HEADER,
            "description": "Deprecated: the environment's key, accepted only while the "
            "environment's `legacy_environment_key_ingestion` is on (docs/ingestion-keys.md).",
        }
