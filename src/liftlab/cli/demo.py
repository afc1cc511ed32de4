"""``liftlab demo``: a whole experiment on the embedded defaults, then keep serving it."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from liftlab import config
from liftlab.cli import CommandError
from liftlab.cli.server import migrate

DEMO_USER = "demo"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="simulate a 3-variant experiment end to end and serve its results"
    )
    parser.add_argument("--users", type=int, default=100_000, help="simulated users")
    parser.add_argument(
        "--seed", type=int, default=1, help="simulation seed (same seed, same events)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--no-serve", action="store_true", help="exit after the results instead of serving"
    )
    parser.set_defaults(func=demo)


def demo_token() -> str:
    """The demo admin's API token (and sign-in password ``demo``): created once, then reused."""
    migrate()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user, created = get_user_model().objects.get_or_create(
        username=DEMO_USER, defaults={"is_superuser": True, "is_staff": True}
    )
    if created:
        user.set_password(DEMO_USER)
        user.save()
    return Token.objects.get_or_create(user=user)[0].key


def demo(args: argparse.Namespace) -> int:
    if args.users < 100:
        raise CommandError("--users must be at least 100")
    from liftlab.demo.server import (
        Stopped,
        free_port,
        start_server,
        stop_server,
        stop_signals_raise,
    )

    console = Console(width=None if sys.stdout.isatty() else 160)
    token = demo_token()
    port = free_port(args.host, args.port)
    base_url = f"http://{args.host}:{port}"
    log_path = str(config.home() / "demo-server.log")
    # SIGTERM or SIGHUP (a service manager, a closed terminal) stops the server child too.
    with stop_signals_raise():
        server = None
        try:
            server = start_server(args.host, port, log_path)
            return _run(args, server, base_url, log_path, token, console)
        except Stopped as stopped:
            console.print(f"Stopped by {stopped}; the server is stopping too.")
            return 128 + stopped.signum
        finally:
            if server is not None:
                stop_server(server)


def _run(args, server, base_url: str, log_path: str, token: str, console: Console) -> int:
    from liftlab.demo.client import ApiClient, ApiError
    from liftlab.demo.runner import run_demo
    from liftlab.demo.server import wait_until_up
    from liftlab.simulate import ExperimentUnavailable, PlanError, SendError

    wait_until_up(server, base_url, log_path)
    try:
        outcome = run_demo(
            ApiClient(base_url, token), token, users=args.users, seed=args.seed, console=console
        )
    except (ApiError, ExperimentUnavailable, PlanError, SendError) as exc:
        raise CommandError(f"the demo stopped: {exc} (server log: {log_path})") from exc
    matched = sum(row["matches"] for row in outcome.checks)
    console.print(
        f"{matched} of {len(outcome.checks)} verdicts match the simulated truth; "
        f"steps 1-4 took {outcome.seconds:.0f} s."
    )
    experiment_url = (
        f"{base_url}/environments/{outcome.environment_key}/experiments/{outcome.experiment_id}/"
    )
    console.print(
        f"Results page: {experiment_url} (sign in as {DEMO_USER} / {DEMO_USER})\n"
        f"API docs:     {base_url}/api/docs/\n"
        f"API token:    {token}"
    )
    if args.no_serve:
        return 0
    console.print("Serving; press Ctrl-C to stop.")
    server.wait()
    return server.returncode
