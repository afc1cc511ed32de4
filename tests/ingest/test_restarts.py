"""Across processes: what a 202 accepted survives a SIGKILL, and ids are still known after it.

Each test gets its own LIFTLAB_HOME, because chDB lets one process at a time hold a data
folder: the server child holds it while it runs, the ``liftlab`` commands after it stops.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed

import pytest
import requests

from liftlab.demo.server import serve_on_free_port

BATCH = 500
CREATE_ENVIRONMENT = (
    "from liftlab.cli.server import migrate; migrate();"
    "from liftlab.accounts.models import Environment;"
    "from liftlab.ingestion_keys.services import create_key;"
    "environment = Environment.objects.create(name='Production');"
    "print(environment.key, create_key(environment, 'tests', None)[1])"
)


@pytest.fixture
def home(tmp_path) -> dict[str, str]:
    """Environment variables of children sharing one fresh LIFTLAB_HOME."""
    # The project's settings: the test settings would pick a new home in every child.
    return dict(
        os.environ, LIFTLAB_HOME=str(tmp_path / "home"), DJANGO_SETTINGS_MODULE="liftlab.settings"
    )


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=120
    )


def new_environment(env: dict[str, str]) -> tuple[str, str]:
    """A new environment's key and the secret of an ingestion key for it."""
    key, secret = run(env, "-c", CREATE_ENVIRONMENT).stdout.split()
    return key, secret


def kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def post(base: str, secret: str, events: list[dict]) -> dict:
    headers = {"Authorization": f"Bearer {secret}"}
    response = requests.post(base + "/api/v1/events/", json=events, headers=headers, timeout=60)
    assert response.status_code == 202, response.text
    return response.json()


def batches(count: int, size: int = BATCH) -> list[list[dict]]:
    return [
        [
            {"event": "purchase", "identifier": f"u{b}-{i}", "event_id": str(uuid.uuid4())}
            for i in range(size)
        ]
        for b in range(count)
    ]


def test_accepted_events_survive_a_sigkill_and_are_known_after_restart(home, tmp_path):
    key, secret = new_environment(home)
    sent = batches(6)
    server, base = serve_on_free_port(home, str(tmp_path / "server.log"))
    try:
        accepted = sum(post(base, secret, events)["accepted"] for events in sent)
    finally:
        kill(server)  # right after the last 202: no shutdown, no flush
    assert accepted == len(sent) * BATCH

    stats = run(home, "-m", "liftlab", "events", "stats", f"--environment={key}")
    assert stats.returncode == 0, stats.stderr
    assert sum(int(line.split()[2]) for line in stats.stdout.splitlines()[1:]) == accepted

    server, base = serve_on_free_port(home, str(tmp_path / "server.log"))
    try:
        again = [post(base, secret, events) for events in sent]
    finally:
        kill(server)
    assert sum(r["duplicates"] for r in again) == accepted
    assert sum(r["accepted"] for r in again) == 0


def test_importing_a_file_again_in_a_new_process_finds_duplicates(home, tmp_path):
    key, _ = new_environment(home)
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in batches(1)[0]))
    command = ("-m", "liftlab", "events", "import", str(path), f"--environment={key}")
    first, second = run(home, *command), run(home, *command)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert f"{BATCH} stored, 0 already stored" in first.stdout
    assert f"0 stored, {BATCH} already stored" in second.stdout


def test_commands_refuse_cleanly_while_the_server_holds_the_store(home, tmp_path):
    key, secret = new_environment(home)
    server, base = serve_on_free_port(home, str(tmp_path / "server.log"))
    try:
        post(base, secret, batches(1)[0])  # the server opens the store on first use
        stats = run(home, "-m", "liftlab", "events", "stats", f"--environment={key}")
    finally:
        kill(server)
    assert stats.returncode == 2
    assert "liftlab: event store: cannot open" in stats.stderr
    assert "another process" in stats.stderr


def send_until_refused(base: str, secret: str, events: list[dict]) -> bool:
    """Post one batch; True on a 202, False once the server is gone (the SDK would retry)."""
    try:
        post(base, secret, events)
    except (requests.ConnectionError, requests.Timeout, AssertionError):
        return False
    return True


@pytest.mark.slow
def test_concurrent_senders_through_a_sigkill_lose_and_double_nothing(home, tmp_path):
    """Four senders post at once; the server is killed mid-load; every sender then retries
    every batch with the same event ids, as the SDKs do: what was acknowledged must come back
    as duplicates, and the store must hold each event exactly once."""
    through_a_sigkill(home, tmp_path, senders=4, sent=batches(24), kill_after=8)


def test_small_batches_sharing_inserts_through_a_sigkill_lose_and_double_nothing(home, tmp_path):
    """SDK traffic: eight senders of 100-event batches, so requests queue behind each other's
    INSERTs and are stored in groups (liftlab.eventstore.group); each 202 still means its
    events are on disk."""
    through_a_sigkill(home, tmp_path, senders=8, sent=batches(64, 100), kill_after=24)


def through_a_sigkill(home, tmp_path, senders: int, sent: list[list[dict]], kill_after: int):
    """``senders`` post ``sent`` at once; the server is SIGKILLed once ``kill_after`` were
    acknowledged; then every batch is retried with the same ids against a restarted one."""
    key, secret = new_environment(home)
    acknowledged: set[int] = set()
    server, base = serve_on_free_port(home, str(tmp_path / "server.log"))
    try:
        with ThreadPoolExecutor(max_workers=senders) as pool:
            outcomes = {
                pool.submit(send_until_refused, base, secret, b): i for i, b in enumerate(sent)
            }
            for done in as_completed(outcomes):
                if done.result():
                    acknowledged.add(outcomes[done])
                if len(acknowledged) == kill_after and server.poll() is None:
                    kill(server)  # in the middle of the load: no shutdown, no flush
    finally:
        if server.poll() is None:
            kill(server)
    assert kill_after <= len(acknowledged) < len(sent)

    server, base = serve_on_free_port(home, str(tmp_path / "server.log"))
    try:
        retried = [post(base, secret, events) for events in sent]
    finally:
        kill(server)
    for i, (events, answer) in enumerate(zip(sent, retried, strict=True)):
        if i in acknowledged:
            assert (answer["accepted"], answer["duplicates"]) == (0, len(events)), i
        assert answer["accepted"] + answer["duplicates"] == len(events)

    stats = run(home, "-m", "liftlab", "events", "stats", f"--environment={key}")
    assert stats.returncode == 0, stats.stderr
    stored = sum(int(line.split()[2]) for line in stats.stdout.splitlines()[1:])
    assert stored == sum(map(len, sent))
