"""The ``liftlab`` command: one sub-command module per concern.

Each module in ``COMMAND_MODULES`` exposes ``register(subparsers)``, which adds its
sub-commands and sets ``func`` on them; ``func(args) -> int`` is the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "liftlab.cli.server",
    "liftlab.cli.users",
    "liftlab.cli.events",
    "liftlab.cli.keys",
    "liftlab.cli.results",
    "liftlab.cli.analysis",
    "liftlab.cli.power",
    "liftlab.cli.simulate",
    "liftlab.cli.demo",
)


class CommandError(Exception):
    """A problem the person can fix: printed as one line, exit code 2, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liftlab", description="liftlab: honest, fast experiment results for feature flags."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        return _fail(exc)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # The demo's server failing to come up is the person's to fix too (a busy port, a
        # broken home). Imported only now: the demo pulls in requests, most commands do not.
        from liftlab.demo.server import ServerStartError

        if isinstance(exc, ServerStartError):
            return _fail(exc)
        raise


def _fail(exc: Exception) -> int:
    print(f"liftlab: {exc}", file=sys.stderr)
    return 2


def setup_django() -> None:
    """Configure Django for commands that touch the models (lazily: `--help` stays fast)."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liftlab.settings")
    django.setup()
