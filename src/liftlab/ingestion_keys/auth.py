"""How ``POST /api/v1/events/`` knows who is sending: an ingestion key, or (legacy) the
environment's key where the environment still allows it.

``Authorization: Bearer ll_ik_…`` is the credential. ``X-Environment-Key`` is accepted only by
environments whose ``legacy_environment_key_ingestion`` is on (those created before ingestion
keys existed, until an admin turns it off); it is refused everywhere else. Either way the view
learns the environment as ``request.auth.environment``. See docs/ingestion-keys.md.

A bearer key is read in one query with its environment and the exposure events of that
environment's experiments (what ``liftlab.events.services.ingestion_rules`` reads), so a
batch costs one database round trip and no ORM compilation: on 100-event batches the two
ORM queries were a fifth of the Python that holds the server's GIL. Nothing is cached: a
revoked key is refused, and an experiment's new exposure event applies, from the next batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication

from liftlab.accounts.models import ENVIRONMENT_KEY_PATTERN, Environment
from liftlab.api.scoping import EXPERIMENTATION_DISABLED
from liftlab.experiments.models import Experiment
from liftlab.ingestion_keys import tokens
from liftlab.ingestion_keys.models import IngestionKey
from liftlab.ingestion_keys.services import record_use

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
    """What authenticated a batch: its environment, the key (None for the legacy header) and,
    when read with the key, the exposure events of the environment's experiments (None: not
    read, ask ``ingestion_rules``)."""

    environment: Environment
    key: IngestionKey | None = None
    exposure_events: frozenset[str] | None = None


def _columns(model) -> list[str]:
    return [field.column for field in model._meta.concrete_fields]


@cache
def _key_query() -> str:
    """The active key of a prefix, its environment's columns, and each distinct exposure event
    of the environment's live experiments (``Experiment.objects.alive()``: not soft-deleted;
    NULL when there is none): one row per exposure event."""
    quote = connection.ops.quote_name

    def column(model, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    selected = [f"k.{quote(c)}" for c in _columns(IngestionKey)]
    selected += [f"e.{quote(c)}" for c in _columns(Environment)]
    selected.append(f"x.{column(Experiment, 'exposure_event')}")
    key_environment = f"k.{column(IngestionKey, 'environment')}"
    return (
        f"SELECT DISTINCT {', '.join(selected)} "
        f"FROM {quote(IngestionKey._meta.db_table)} k "
        f"JOIN {quote(Environment._meta.db_table)} e "
        f"ON e.{quote(Environment._meta.pk.column)} = {key_environment} "
        f"LEFT JOIN {quote(Experiment._meta.db_table)} x "
        f"ON x.{column(Experiment, 'environment')} = {key_environment} "
        f"AND x.{column(Experiment, 'deleted_at')} IS NULL "
        f"WHERE k.{column(IngestionKey, 'prefix')} = %s "
        f"AND k.{column(IngestionKey, 'revoked_at')} IS NULL"
    )


def authenticate_with_exposures(presented: str) -> IngestionCredential | None:
    """The credential of the active key ``presented`` is, with its environment and exposure
    events, from one query; None when it is not an active key. The key's shape is checked
    before the database, its hash compared in constant time, and its use recorded
    (``liftlab.ingestion_keys.services.record_use``)."""
    prefix = tokens.prefix_of(presented)
    if prefix is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_key_query(), [prefix])
        rows = cursor.fetchall()
    if not rows:
        return None
    key_width = len(_columns(IngestionKey))
    environment_width = len(_columns(Environment))
    first = rows[0]
    key = _loaded(IngestionKey, first[:key_width])
    if not tokens.matches(presented, key.secret_hash):
        return None
    environment = _loaded(Environment, first[key_width : key_width + environment_width])
    key.environment = environment
    record_use(key)
    exposures = frozenset(row[-1] for row in rows if row[-1] is not None)
    return IngestionCredential(environment, key, exposures)


def _loaded(model, values) -> Any:
    """A model instance from its raw column values, as the ORM loads it (the backend's and the
    field's converters: SQLite keeps datetimes as text and booleans as integers)."""
    names, converters = _loading(model)
    converted = []
    for value, (expression, steps) in zip(values, converters, strict=True):
        for step in steps:
            value = step(value, expression, connection)
        converted.append(value)
    return model.from_db(connection.alias, names, converted)


@cache
def _loading(model) -> tuple[list[str], list[tuple[Any, list]]]:
    fields = model._meta.concrete_fields
    converters = []
    for field in fields:
        column = field.cached_col
        steps = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        converters.append((column, steps))
    return [field.attname for field in fields], converters


class IngestionKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <ingestion key>``; a bad key is a 401, never a fall-through."""

    def authenticate(self, request):
        # Read as text: anything that is not a key's ASCII shape is refused before the database.
        words = str(request.META.get("HTTP_AUTHORIZATION", "")).split()
        if not words or words[0].lower() != BEARER.lower():
            return None
        if len(words) != 2:
            raise exceptions.AuthenticationFailed(f"Malformed Authorization header. {SEND_A_KEY}")
        credential = authenticate_with_exposures(words[1])
        if credential is None:
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        return AnonymousUser(), credential

    def authenticate_header(self, request) -> str:
        return f'{BEARER} realm="liftlab ingestion"'


def legacy_credential(presented: str, unknown: str) -> IngestionCredential:
    """The environment whose own key ``presented`` is, if it still accepts it; a 401 saying
    ``unknown`` when no environment has that key, or that legacy ingestion is off."""
    environment = None
    if re.fullmatch(ENVIRONMENT_KEY_PATTERN, presented):
        environment = Environment.objects.filter(key=presented).first()
    if environment is None:
        raise exceptions.AuthenticationFailed(unknown)
    if not environment.legacy_environment_key_ingestion:
        raise exceptions.AuthenticationFailed(LEGACY_OFF)
    return IngestionCredential(environment)


def experimenting(credential: IngestionCredential) -> IngestionCredential:
    """The credential, or a 403 if its environment has experimentation switched off."""
    if not credential.environment.experimentation_enabled:
        raise exceptions.PermissionDenied(EXPERIMENTATION_DISABLED)
    return credential


class LegacyEnvironmentKeyAuthentication(BaseAuthentication):
    """``X-Environment-Key``, for environments whose legacy setting is still on."""

    def authenticate(self, request):
        presented = request.headers.get(LEGACY_HEADER)
        if not presented:
            return None
        return AnonymousUser(), legacy_credential(
            presented, f"Unknown environment key. {SEND_A_KEY}"
        )


AUTHENTICATION = [IngestionKeyAuthentication, LegacyEnvironmentKeyAuthentication]


class HasIngestionCredential(permissions.BasePermission):
    """A batch needs a credential (else 401) for an environment that experiments (else 403)."""

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, IngestionCredential):
            raise exceptions.NotAuthenticated(SEND_A_KEY)
        experimenting(request.auth)
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
