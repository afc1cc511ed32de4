"""``liftlab user create``: a user and its API token (the token alone on stdout)."""

from __future__ import annotations

import argparse
import sys

from liftlab.cli import CommandError
from liftlab.cli.server import migrate


def register(subparsers: argparse._SubParsersAction) -> None:
    user = subparsers.add_parser("user", help="manage users").add_subparsers(
        dest="user_command", required=True
    )
    create = user.add_parser("create", help="create a user and print its API token")
    create.add_argument("name")
    create.add_argument("--superuser", action="store_true")
    create.add_argument(
        "--password-stdin", action="store_true", help="read a sign-in password from stdin"
    )
    create.set_defaults(func=create_user)


def create_user(args: argparse.Namespace) -> int:
    migrate()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    if args.password_stdin and not password:
        raise CommandError("--password-stdin: no password on standard input")
    users = get_user_model()
    if not args.name.strip() or len(args.name) > 150:
        raise CommandError("NAME must be 1 to 150 characters")
    if users.objects.filter(username=args.name).exists():
        raise CommandError(f"a user named {args.name!r} already exists")
    user = users(username=args.name, is_superuser=args.superuser, is_staff=args.superuser)
    user.set_password(password) if password else user.set_unusable_password()
    user.save()
    print(Token.objects.create(user=user).key)
    return 0
