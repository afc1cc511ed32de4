"""``liftlab keys create|list|revoke|rotate|legacy ENV_KEY …``: an environment's ingestion keys.

The same rules as the API (``liftlab.ingestion_keys.services``): a change is made as an admin of
the environment (``--actor``) and recorded in the audit log, without the secret. ``create`` and
``rotate`` print the new secret alone on stdout, the only time it is ever shown; ``list`` shows
prefixes only.
"""

from __future__ import annotations

import argparse
import json
import sys

from liftlab.cli import CommandError
from liftlab.cli.actors import admin_actor
from liftlab.cli.server import migrate

ACTOR_HELP = "the environment admin the change is made as (recorded in the audit log)"
KEY_ID_HELP = "the key's id, or its prefix (ll_ik_…)"


def register(subparsers: argparse._SubParsersAction) -> None:
    keys = subparsers.add_parser(
        "keys", help="an environment's ingestion keys", description=__doc__.split("\n\n", 1)[1]
    ).add_subparsers(dest="keys_command", required=True)

    create = keys.add_parser("create", help="create a key and print its secret (shown once)")
    create.add_argument("environment_key")
    create.add_argument("--name", required=True, help="what the key is for")
    create.add_argument("--actor", required=True, metavar="USERNAME", help=ACTOR_HELP)
    create.set_defaults(func=create_key)

    listing = keys.add_parser("list", help="the keys: prefix, name, created, last used, status")
    listing.add_argument("environment_key")
    listing.add_argument("--json", action="store_true", help="as the API lists them")
    listing.set_defaults(func=list_keys)

    for name, func, helptext in (
        ("revoke", revoke_key, "revoke a key: its next batch is refused"),
        ("rotate", rotate_key, "a new secret for a key (printed once); the old one stops working"),
    ):
        command = keys.add_parser(name, help=helptext)
        command.add_argument("environment_key")
        command.add_argument("key_id", metavar="KEY_ID", help=KEY_ID_HELP)
        command.add_argument("--actor", required=True, metavar="USERNAME", help=ACTOR_HELP)
        command.set_defaults(func=func)

    legacy = keys.add_parser(
        "legacy",
        help="show or switch whether the environment key still authenticates ingestion",
        description="X-Environment-Key is accepted for ingestion only while this is on "
        "(environments made before ingestion keys existed start with it on).",
    )
    legacy.add_argument("environment_key")
    switch = legacy.add_mutually_exclusive_group()
    switch.add_argument("--off", dest="legacy", action="store_false", default=None)
    switch.add_argument("--on", dest="legacy", action="store_true")
    legacy.add_argument("--actor", metavar="USERNAME", help=ACTOR_HELP + "; needed to switch")
    legacy.set_defaults(func=legacy_ingestion)


def _environment(key: str):
    migrate()
    from liftlab.accounts.models import Environment

    environment = Environment.objects.filter(key=key).first() if "\x00" not in key else None
    if environment is None:
        raise CommandError(f"no environment with key {key!r}")
    return environment


def _admin(username: str | None, environment):
    return admin_actor(
        username,
        environment,
        doing="change anything",
        refusal="only the environment's admins manage its keys",
    )


def _key(environment, key_id: str):
    from liftlab.ingestion_keys.models import IngestionKey

    keys = IngestionKey.objects.filter(environment=environment).select_related("environment")
    key = (
        keys.filter(pk=int(key_id)).first()
        if key_id.isdigit() and len(key_id) < 19
        else keys.filter(prefix=key_id.removesuffix("…")).first()
    )
    if key is None:
        raise CommandError(f"no ingestion key {key_id!r} in environment {environment.key!r}")
    return key


def _name_error(exc) -> CommandError:
    from liftlab.cli.results import first_message

    return CommandError(first_message(exc.detail))


def create_key(args: argparse.Namespace) -> int:
    from rest_framework.exceptions import ValidationError

    from liftlab.ingestion_keys import services

    environment = _environment(args.environment_key)
    actor = _admin(args.actor, environment)
    try:
        key, secret = services.create_key(environment, args.name, actor)
    except ValidationError as exc:
        raise _name_error(exc) from exc
    print(secret)
    print(
        f"Created ingestion key {key.pk} ({key.prefix}…) for {environment.name!r}. The secret "
        "above is shown only now: send it as 'Authorization: Bearer <key>'.",
        file=sys.stderr,
    )
    return 0


def list_keys(args: argparse.Namespace) -> int:
    from liftlab.ingestion_keys.models import IngestionKey
    from liftlab.ingestion_keys.serializers import IngestionKeySerializer

    environment = _environment(args.environment_key)
    keys = IngestionKey.objects.filter(environment=environment)
    if args.json:
        print(json.dumps(IngestionKeySerializer(keys, many=True).data, indent=2))
        return 0
    if not keys:
        print(f"No ingestion keys in {environment.name!r}.")
    rows = [("id", "prefix", "created", "last used", "status", "name")]
    for key in keys:
        status = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
        rows.append(
            (
                str(key.pk),
                f"{key.prefix}…",
                f"{key.created_at:%Y-%m-%d %H:%M}",
                f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
                status,
                key.name,
            )
        )
    if len(rows) > 1:
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        for row in rows:
            cells = (cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True))
            print("  ".join(cells), row[5])
    legacy = "on" if environment.legacy_environment_key_ingestion else "off"
    print(f"Legacy X-Environment-Key ingestion: {legacy}.")
    return 0


def revoke_key(args: argparse.Namespace) -> int:
    from liftlab.ingestion_keys import services

    environment = _environment(args.environment_key)
    actor = _admin(args.actor, environment)
    key = _key(environment, args.key_id)
    if not key.active:
        print(f"Ingestion key {key.pk} ({key.prefix}…) was already revoked; nothing changed.")
        return 0
    services.revoke_key(key, actor)
    print(f"Revoked ingestion key {key.pk} ({key.prefix}…); its next batch is refused (401).")
    return 0


def rotate_key(args: argparse.Namespace) -> int:
    from liftlab.ingestion_keys import services

    environment = _environment(args.environment_key)
    actor = _admin(args.actor, environment)
    key = _key(environment, args.key_id)
    old = key.prefix
    try:
        secret = services.rotate_key(key, actor)
    except services.KeyRevoked as exc:
        raise CommandError(f"ingestion key {key.pk}: {exc}") from exc
    print(secret)
    print(
        f"Rotated ingestion key {key.pk} ({old}… → {key.prefix}…): the old secret no longer "
        "works; the new one above is shown only now.",
        file=sys.stderr,
    )
    return 0


def legacy_ingestion(args: argparse.Namespace) -> int:
    from liftlab.ingestion_keys import services

    environment = _environment(args.environment_key)
    if args.legacy is not None:
        actor = _admin(args.actor, environment)
        if not services.set_legacy_ingestion(environment, args.legacy, actor):
            print("It already is so; nothing changed.")
    state = "on" if environment.legacy_environment_key_ingestion else "off"
    accepts = "accepts" if environment.legacy_environment_key_ingestion else "refuses"
    print(
        f"Legacy ingestion is {state}: POST /api/v1/events/ {accepts} the environment key "
        f"(X-Environment-Key) for {environment.name!r}."
    )
    return 0
