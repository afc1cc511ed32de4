"""A live ``liftlab serve`` with real objects and people, for the contract run.

The server is the one ``liftlab demo`` starts (``liftlab.demo.server``), on a fresh
LIFTLAB_HOME with its own SQLite database and embedded event store; users and their tokens
are made with ``liftlab user create``; everything else through the API itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from liftlab.demo.server import serve_on_free_port, stop_server

# Who sends the requests: the name each run is reported under, and the user (None: no token).
IDENTITIES = {
    "superuser": "root",
    "admin": "alice",
    "viewer": "victor",
    "outsider": "olga",
    "anonymous": None,
}
# An SDK with the main environment's ingestion key: it sends events, and nothing else.
SENDER = "sender"


@dataclass
class World:
    """What exists on the server: ids that path parameters can name."""

    base_url: str
    tokens: dict[str, str]
    environment_keys: list[str] = field(default_factory=list)
    metric_ids: list[int] = field(default_factory=list)
    experiment_ids: list[int] = field(default_factory=list)
    attachment_ids: list[int] = field(default_factory=list)
    ingestion_key_ids: list[int] = field(default_factory=list)
    usernames: list[str] = field(default_factory=list)
    ingestion_key: str = ""  # the secret an SDK sends to /api/v1/events/

    def headers(self, identity: str) -> dict[str, str]:
        if identity == SENDER:
            return {"Authorization": f"Bearer {self.ingestion_key}"}
        user = IDENTITIES[identity]
        return {"Authorization": f"Token {self.tokens[user]}"} if user else {}


class Api:
    """JSON requests as one user; any answer but the expected one stops the setup."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def send(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = self.session.request(method, self.base_url + path, json=body, timeout=60)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json() if response.content else None


def server_env(home: Path) -> dict[str, str]:
    # Not the test run's settings (tests.settings picks a LIFTLAB_HOME of its own) nor databases.
    dropped = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "EVENTSTORE_URL")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(LIFTLAB_HOME=str(home), SECRET_KEY="contract-run-only", DEBUG="false")
    return env


def create_user(env: dict[str, str], name: str, superuser: bool = False) -> str:
    """``liftlab user create``: the token it prints."""
    command = [sys.executable, "-m", "liftlab", "user", "create", name]
    done = subprocess.run(
        command + (["--superuser"] if superuser else []),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def populate(base_url: str, tokens: dict[str, str]) -> World:
    """Two environments (alice and victor in one, olga in the other), metrics, experiments in
    each state, attachments, and a few spare objects for the run to delete and change."""
    world = World(base_url, tokens)
    root = Api(base_url, tokens["root"])
    alice = Api(base_url, tokens["alice"])
    olga = Api(base_url, tokens["olga"])

    main = root.send("POST", "/api/v1/environments/", {"name": "Main"}, expect=201)
    elsewhere = root.send("POST", "/api/v1/environments/", {"name": "Elsewhere"}, expect=201)
    env = f"/api/v1/environments/{main['key']}"
    for username, role in (("alice", "admin"), ("victor", "viewer")):
        body = {"username": username, "role": role}
        root.send("POST", f"{env}/members/", body, expect=201)
    root.send(
        "POST",
        f"/api/v1/environments/{elsewhere['key']}/members/",
        {"username": "olga", "role": "admin"},
        expect=201,
    )
    world.environment_keys = [main["key"], elsewhere["key"]]
    world.usernames = ["alice", "victor", "root", "olga"]

    metrics = [
        {"name": "Purchases", "aggregation": "count", "definition": {"version": 1, "event": "buy"}},
        {
            "name": "Revenue",
            "aggregation": "sum",
            "definition": {"version": 1, "event": "buy", "value": "amount"},
        },
        {
            "name": "Converted",
            "aggregation": "occurrence",
            "definition": {
                "version": 1,
                "event": "buy",
                "filters": [{"property": "plan", "op": "in", "value": ["pro", "team"]}],
                "window": {"hours": 168},
            },
        },
        {
            "name": "Spare",
            "aggregation": "mean",
            "definition": {"version": 1, "event": "x", "value": "v"},
        },
    ]
    ids = [alice.send("POST", f"{env}/experiment-metrics/", m, expect=201)["id"] for m in metrics]
    theirs = olga.send(
        "POST",
        f"/api/v1/environments/{elsewhere['key']}/experiment-metrics/",
        metrics[0],
        expect=201,
    )
    world.metric_ids = [*ids, theirs["id"]]

    variants = [{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}]
    for index, actions in enumerate([(), ("start",), ("start", "pause"), ("start", "complete")]):
        body = {
            "name": f"Experiment {index}",
            "feature_name": f"flag-{index}",
            "variants": variants,
        }
        experiment = alice.send("POST", f"{env}/experiments/", body, expect=201)
        attachment = alice.send(
            "POST",
            f"{env}/experiments/{experiment['id']}/metrics/",
            {"metric": ids[index % 3], "expected_direction": "increase"},
            expect=201,
        )
        for action in actions:
            alice.send("POST", f"{env}/experiments/{experiment['id']}/{action}/")
        world.experiment_ids.append(experiment["id"])
        world.attachment_ids.append(attachment["id"])
    for name in ("sdk", "spare"):
        issued = alice.send("POST", f"{env}/ingestion-keys/", {"name": name}, expect=201)
        world.ingestion_key_ids.append(issued["id"])
        world.ingestion_key = world.ingestion_key or issued["key"]
    return world


class LiveServer:
    """``with LiveServer(home) as world:`` a populated server, stopped on the way out."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.log = home / "server.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> World:
        self.home.mkdir(parents=True, exist_ok=True)
        env = server_env(self.home)
        tokens = {
            user: create_user(env, user, superuser=user == "root")
            for user in IDENTITIES.values()
            if user
        }
        self.process, base_url = serve_on_free_port(env, str(self.log))
        try:
            return populate(base_url, tokens)
        except BaseException:
            self.__exit__()  # a setup that fails leaves no server behind
            raise

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            stop_server(self.process)
