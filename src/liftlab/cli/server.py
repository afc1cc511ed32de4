"""``liftlab serve``: migrations, then gunicorn (never Django's development server)."""

from __future__ import annotations

import argparse

from liftlab import config
from liftlab.cli import setup_django


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the service (applies migrations first)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes (default 1 on embedded chDB, which allows one process per data folder)",
    )
    parser.add_argument("--threads", type=int, default=8)
    parser.set_defaults(func=serve)


def migrate() -> None:
    """Bring the model database up to date (quietly; it is a no-op when nothing changed)."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def serve(args: argparse.Namespace) -> int:
    migrate()
    workers = args.workers or (1 if config.eventstore_url().startswith("chdb:") else 2)
    run_gunicorn(args.host, args.port, workers=workers, threads=args.threads)
    return 0


def run_gunicorn(host: str, port: int, *, workers: int, threads: int) -> None:
    """Run the WSGI app in gunicorn's threaded workers until stopped."""
    from gunicorn.app.base import BaseApplication

    from liftlab.wsgi import application

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", None)
            self.cfg.set("preload_app", workers == 1)

        def load(self):
            return application

    Server().run()
