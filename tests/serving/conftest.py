"""A real ``liftlab serve`` child on a free loopback port, on a fresh LIFTLAB_HOME of its own.

chDB lets one process hold a data folder, so each server gets its own home; a superuser
token, an environment and a sender's credential for it are made there before it starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from liftlab.demo.server import serve_on_free_port, stop_server

SETUP = """
import json
from liftlab.cli.server import migrate
migrate()
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from liftlab.accounts.models import Environment
user = get_user_model().objects.create(username="ops", is_superuser=True, is_staff=True)
environment = Environment.objects.create(name="Serving")
from liftlab.ingestion_keys.services import create_key
sender = {"Authorization": "Bearer " + create_key(environment, "tests", None)[1]}
token = Token.objects.create(user=user).key
print(json.dumps({"token": token, "environment": environment.key, "sender": sender}))
"""


@dataclass(frozen=True)
class Served:
    base: str
    token: str
    environment: str
    sender: dict[str, str]  # the headers that authenticate a batch of events
    log: str

    @property
    def host(self) -> str:
        return urlsplit(self.base).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.base).port or 80

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


Serve = Callable[..., Served]


def start(folder, options: tuple[str, ...] = (), variables: dict[str, str] | None = None) -> tuple:
    """(process, Served): ``liftlab serve *options`` with ``variables`` on a home in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        LIFTLAB_HOME=str(folder / "home"),
        DJANGO_SETTINGS_MODULE="liftlab.settings",
        **(variables or {}),
    )
    env.pop("EVENTSTORE_URL", None)
    env.update(own_database(env.get("DATABASE_URL", "")))
    setup = subprocess.run(
        [sys.executable, "-c", SETUP], env=env, capture_output=True, text=True, timeout=120
    )
    assert setup.returncode == 0, setup.stderr
    made = json.loads(setup.stdout.strip().splitlines()[-1])
    log = str(folder / "server.log")
    process, base = serve_on_free_port(env, log, options)
    return process, Served(base, made["token"], made["environment"], made["sender"], log)


def own_database(url: str) -> dict[str, str]:
    """On PostgreSQL, a new database for the server, as each server on SQLite has its own
    file: servers started at once (two test workers, two packages) never share users."""
    if not url.startswith(("postgres://", "postgresql://")):
        return {}
    name = f"liftlab_serve_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return {"DATABASE_URL": urlunsplit(urlsplit(url)._replace(path=f"/{name}"))}


@pytest.fixture
def serve(tmp_path) -> Iterator[Serve]:
    """``serve(*options, **environment)`` starts a server; all stop at the test's end."""
    processes = []

    def started(*options: str, **variables: str) -> Served:
        process, served = start(tmp_path / f"server-{len(processes)}", options, variables)
        processes.append(process)
        return served

    yield started
    for process in processes:
        stop_server(process)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Served]:
    """One server for a module's tests: default settings but a 200 kB events body limit."""
    folder = tmp_path_factory.mktemp("server")
    process, served = start(folder, (), {"INGEST_MAX_BODY_BYTES": "200000"})
    yield served
    stop_server(process)
