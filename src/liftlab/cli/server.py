"""``liftlab serve``: migrations, then uvicorn in front of Django's ASGI app (liftlab.serving)."""

from __future__ import annotations

import argparse
import math

from liftlab import config
from liftlab.cli import CommandError, setup_django
from liftlab.serving import ServeOptions

DEFAULTS = ServeOptions()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the service (applies migrations first)")
    parser.add_argument("--host", default=DEFAULTS.host)
    parser.add_argument("--port", type=int, default=DEFAULTS.port)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes (default 1 on embedded chDB, which allows only one; 2 with a "
        "ClickHouse server)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULTS.threads,
        help="requests Django computes at once per process (default %(default)s)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULTS.max_connections,
        help="open connections per process; a request beyond them gets 503 (default %(default)s)",
    )
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULTS.header_timeout,
        help="seconds a client has to send a request's headers (default %(default)g)",
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        default=DEFAULTS.body_timeout,
        help="seconds a client has to send a request's body (default %(default)g)",
    )
    parser.add_argument(
        "--keep-alive",
        type=float,
        default=DEFAULTS.keep_alive,
        help="seconds an idle connection is kept open between requests (default %(default)g)",
    )
    parser.set_defaults(func=serve)


def migrate() -> None:
    """Bring the model database up to date (quietly; it is a no-op when nothing changed)."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def results_refresh_minutes() -> float:
    """``RESULTS_REFRESH_MINUTES``, checked before anything starts: 0 (off) or a positive time."""
    setup_django()
    from django.conf import settings

    minutes = settings.RESULTS_REFRESH_MINUTES
    if not math.isfinite(minutes) or minutes < 0:
        raise CommandError(f"RESULTS_REFRESH_MINUTES must be 0 (off) or more, not {minutes:g}")
    return minutes


def serve(args: argparse.Namespace) -> int:
    embedded = config.eventstore_url().startswith("chdb:")
    if embedded and args.workers not in (None, 1):
        raise CommandError(
            "embedded chDB allows one process per data folder: --workers must be 1 "
            "(set EVENTSTORE_URL=clickhouse://… to run several)"
        )
    for name in ("workers", "threads", "max_connections"):
        if (getattr(args, name) or 1) < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("header_timeout", "body_timeout", "keep_alive"):
        if getattr(args, name) <= 0:
            raise CommandError(f"--{name.replace('_', '-')} must be more than 0 seconds")
    refresh_minutes = results_refresh_minutes()
    migrate()
    from liftlab.serving.server import run

    run(
        ServeOptions(
            host=args.host,
            port=args.port,
            workers=args.workers or (1 if embedded else 2),
            threads=args.threads,
            max_connections=args.max_connections,
            header_timeout=args.header_timeout,
            body_timeout=args.body_timeout,
            keep_alive=args.keep_alive,
            refresh_minutes=refresh_minutes,
        )
    )
    return 0
