"""Benchmark: events/s into the event store, three ways, on the same events, in one run.

1. raw     - ``store.insert_columns`` of validated events (dedup check + insert; the ceiling);
2. import  - ``liftlab events import FILE`` on the same events as NDJSON (run in-process:
             decode, validate, insert, with the command's own code and batch size);
3. api     - ``POST /api/v1/events/`` in batches of 5,000 from this one client process
             (``--connections`` keep-alive connections, default 2) against a ``liftlab serve``
             child on loopback.

Every event carries a client event_id, as an SDK's retry-safe events do. Raw and import use
a temporary LIFTLAB_HOME in this process; the server child gets its own (chDB: one process
per data folder). Results are printed as events/s and as ratios to the raw rate.

    .venv/bin/python bench/ingest.py [--events 200000] [--batch 5000] [--connections 2]
                                     [--rounds 3]

Each round runs the three paths one after the other and its ratios compare rates measured
minutes apart at most; the medians over rounds smooth the shared machine's swings.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from liftlab.demo.server import serve_on_free_port

EVENT_NAMES = ["page_view", "add_to_cart", "purchase", "signup"]
# Prints the new environment's key and the secret of an ingestion key for it.
CREATE_ENVIRONMENT = (
    "from liftlab.cli.server import migrate; migrate();"
    "from liftlab.accounts.models import Environment;"
    "from liftlab.ingestion_keys.services import create_key;"
    "environment = Environment.objects.create(name='bench');"
    "print(environment.key, create_key(environment, 'bench', None)[1])"
)


def make_events(count: int, seed: int = 7) -> list[dict]:
    """Live SDK traffic: times within the last hour, one exposure in five, a few properties."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=1)
    events = []
    for i in range(count):
        moment = (start + timedelta(milliseconds=rng.randrange(3_600_000))).isoformat()
        user = f"user-{rng.randrange(50_000)}"
        common = {"identifier": user, "timestamp": moment, "event_id": str(uuid.uuid4())}
        if i % 5 == 0:
            variant = rng.choice(["control", "treatment"])
            event = {"event": "$flag_exposure", "feature_name": "checkout", "value": variant}
        else:
            name = rng.choice(EVENT_NAMES)
            props = {"amount": round(rng.uniform(1, 200), 2), "plan": rng.choice(["free", "pro"])}
            event = {"event": name, "value": props["amount"], "properties": props}
        events.append({**common, **event, "traits": {"country": "NZ"}, "sdk_language": "python"})
    return events


def in_batches(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def raw_insert_rate(events: list[dict], batch: int, environment_key: str) -> float:
    """store.insert_columns alone: the events are validated into columns before the clock."""
    from liftlab.eventstore import open_store
    from liftlab.ingest.columns import to_event_columns
    from liftlab.ingest.pipeline import now_ms
    from liftlab.ingest.validation import Rules

    batches = []
    for chunk in in_batches(events, batch):
        columns, rejected = to_event_columns(chunk, environment_key, now_ms(), Rules())
        assert not rejected, rejected[:3]
        batches.append(columns)
    store = open_store()
    store.ensure_schema()
    started = time.perf_counter()
    for columns in batches:
        store.insert_columns(columns)
    return rate(len(events), time.perf_counter() - started)


def import_rate(events: list[dict], folder: Path) -> float:
    """``liftlab events import`` of an NDJSON file (its own batch size), timed around it."""
    from liftlab.cli import main

    key, _ = subprocess.run(
        [sys.executable, "-c", CREATE_ENVIRONMENT], capture_output=True, text=True, check=True
    ).stdout.split()
    path = folder / "events.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    args = ["events", "import", str(path), f"--environment={key}"]
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # its summary would break the table
        code = main(args)
    elapsed = time.perf_counter() - started
    assert code == 0, f"import exited {code}"
    return rate(len(events), elapsed)


def api_rate(events: list[dict], batch: int, connections: int, home: Path) -> float:
    """POSTs of pre-encoded batches, ``connections`` at a time, to a fresh server child."""
    env = dict(os.environ, LIFTLAB_HOME=str(home))
    _, secret = subprocess.run(
        [sys.executable, "-c", CREATE_ENVIRONMENT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    bodies = [json.dumps(chunk).encode() for chunk in in_batches(events, batch)]
    server, base = serve_on_free_port(env, str(home / "server.log"))
    try:
        url, headers = base + "/api/v1/events/", {"Authorization": f"Bearer {secret}"}
        sessions = [requests.Session() for _ in range(connections)]
        warm_up = json.dumps([{"event": "warm_up", "identifier": "bench"}]).encode()
        for session in sessions:
            assert session.post(url, data=warm_up, headers=headers).status_code == 202

        def send(numbered: tuple[int, bytes]) -> int:
            index, body = numbered
            response = sessions[index % connections].post(url, data=body, headers=headers)
            assert response.status_code == 202, response.text
            return response.json()["accepted"]

        started = time.perf_counter()
        with ThreadPoolExecutor(connections) as pool:
            accepted = sum(pool.map(send, enumerate(bodies)))
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert accepted == len(events), f"{accepted} of {len(events)} accepted"
    return rate(accepted, elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=3, help="each round runs the three paths once, in turn"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="liftlab-bench-ingest-"))
    os.environ["LIFTLAB_HOME"] = str(work / "local")
    os.environ.pop("EVENTSTORE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liftlab.settings")
    events = make_events(args.events)
    print(f"{args.events:,} events in batches of {args.batch:,}; work folder {work}")

    print(f"{'round':<6} {'raw/s':>10} {'import/s':>10} {'api/s':>10} {'import':>7} {'api':>7}")
    rates = []
    for round_ in range(args.rounds):
        # Fresh ids each time, so every path stores every event.
        raw = raw_insert_rate(with_new_ids(events), args.batch, f"bench-raw-{round_}")
        imported = import_rate(with_new_ids(events), work)
        api = api_rate(with_new_ids(events), args.batch, args.connections, work / f"api-{round_}")
        rates.append((raw, imported, api))
        print(
            f"{round_ + 1:<6} {raw:>10,.0f} {imported:>10,.0f} {api:>10,.0f} "
            f"{imported / raw:>7.0%} {api / raw:>7.0%}"
        )
    if args.rounds > 1:
        raw, imported, api = (statistics.median(column) for column in zip(*rates, strict=True))
        ratios = [(i / r, a / r) for r, i, a in rates]
        import_ratio, api_ratio = (statistics.median(c) for c in zip(*ratios, strict=True))
        print(
            f"{'median':<6} {raw:>10,.0f} {imported:>10,.0f} {api:>10,.0f} "
            f"{import_ratio:>7.0%} {api_ratio:>7.0%}"
        )


def with_new_ids(events: list[dict]) -> list[dict]:
    return [dict(e, event_id=str(uuid.uuid4())) for e in events]


if __name__ == "__main__":
    main()
