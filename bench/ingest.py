"""Benchmark: events/s into the event store, through every way in, on the same events, in one run.

1. raw      - ``store.insert_columns`` of validated events, one batch of ``--batch`` after
              another (dedup check + insert; the ceiling every other path is a ratio of);
2. import   - ``liftlab events import FILE`` on the same events as NDJSON (run in-process:
              decode, validate, insert, with the command's own code and batch size);
3. over HTTP, against one ``liftlab serve`` child on loopback, ``--clients`` concurrent
   clients (default 8, each its own keep-alive connection), each load on a fresh
   environment:
   - native-100   ``POST /api/v1/events/`` of 100-event requests (what SDKs flush);
   - native-5000  the same in requests of ``--batch`` events;
   - segment-100  ``POST /v1/batch`` (Segment's tracking API, write key as Basic auth);
   - posthog-100  ``POST /batch/`` (PostHog's capture API, ``api_key`` in the body).
   An endpoint this build does not have (a 404) is reported as such and skipped.

Every event carries a client event_id, as an SDK's retry-safe events do; the Segment and
PostHog bodies carry the same events in their own shapes (messageId/uuid as the id). Bodies
are encoded before the clock starts; every answer is checked (all events accepted). Raw and
import use a temporary LIFTLAB_HOME in this process; the server child gets its own (chDB:
one process per data folder).

    .venv/bin/python bench/ingest.py [--events 100000] [--batch 5000] [--clients 8]
                                     [--rounds 3] [--only native-100,...]

Each round runs every path once, in turn, and its ratios compare rates measured a minute
or two apart at most; the medians over rounds smooth the shared machine's swings.

Where the time goes, printed around the table: the CPU of decoding and validating 5,000
and 100 events as dicts and typed (msgspec); for the last round, raw's CPU per event and
each HTTP load's server and client CPU per request (from /proc); and, in-process through
Django's test client against the real store (only timed, never replaced), one native
100-event and one 5,000-event request's CPU outside and inside the store — the Python that
holds the GIL, which bounds the requests however INSERTs are shared — and how 8 threads of such
requests share INSERTs (the group commit's INSERTs counted). And the bound the INSERTs alone
set on 100-event requests, measured in each round next to raw (``raw-800``): 8 clients can
put at most 800 events in one INSERT, so raw's rate with INSERTs of 800 is the most they
could reach with no HTTP or Python at all.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

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


def run_threads(threads: list[threading.Thread]) -> float:
    """Start the clients together and wait for all: the seconds they took."""
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def raw_insert_rate(events: list[dict], batch: int, environment_key: str) -> tuple[float, float]:
    """store.insert_columns alone, and the CPU seconds it took (this process, the engine's
    threads included): the events are validated into columns before the clock."""
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
    started, cpu = time.perf_counter(), own_cpu()
    for columns in batches:
        store.insert_columns(columns)
    return rate(len(events), time.perf_counter() - started), own_cpu() - cpu


def request_python(events: list[dict], size: int) -> tuple[float, float, float]:
    """Where one native request's CPU goes, in-process: the CPU seconds per request of the
    thread that computes it outside the store (Django, authentication, the rules query,
    decoding, validation: all of it holding the GIL), inside ``store.insert_columns`` (of
    which the engine's part releases the GIL), and the request's wall time.

    Django's test client, one request at a time, against this process's real store: the
    store is only timed (its ``insert_columns`` wrapped), nothing is replaced.
    """
    import django
    from django.test import Client

    from liftlab.eventstore import open_store

    django.setup()
    _, secret = subprocess.run(
        [sys.executable, "-c", CREATE_ENVIRONMENT], capture_output=True, text=True, check=True
    ).stdout.split()
    store = open_store()
    store.ensure_schema()
    insert = store.insert_columns
    inside = 0.0

    def timed(columns):
        nonlocal inside
        start = time.thread_time()
        try:
            return insert(columns)
        finally:
            inside += time.thread_time() - start

    bodies = [json.dumps(chunk).encode() for chunk in in_batches(events, size)]
    client, auth = Client(), {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    warm_up = json.dumps([{"event": "warm_up", "identifier": "bench"}])
    assert client.post("/api/v1/events/", warm_up, "application/json", **auth).status_code == 202
    store.insert_columns = timed  # an instance attribute: the view's store is this one
    try:
        started, wall = time.thread_time(), time.perf_counter()
        for body in bodies:
            answer = client.post("/api/v1/events/", body, "application/json", **auth)
            assert answer.status_code == 202, answer.content
        total, wall = time.thread_time() - started, time.perf_counter() - wall
    finally:
        del store.insert_columns
    count = len(bodies)
    return (total - inside) / count, inside / count, wall / count


def grouping(events: list[dict], size: int, clients: int) -> tuple[int, int, float]:
    """How requests share INSERTs, in-process: ``clients`` threads post ``size``-event
    requests through Django's test client; the requests, the INSERTs the store ran for
    them (its group commit's calls, counted), and events/s."""
    import threading

    from django.db import connections
    from django.test import Client

    from liftlab.eventstore import open_store

    _, secret = subprocess.run(
        [sys.executable, "-c", CREATE_ENVIRONMENT], capture_output=True, text=True, check=True
    ).stdout.split()
    store = open_store()
    groups = store._groups  # counted, not replaced
    commit, inserts = groups._commit, []

    def counted(columns):
        inserts.append(columns.size)
        return commit(columns)

    bodies = iter([json.dumps(chunk).encode() for chunk in in_batches(events, size)])
    taking = threading.Lock()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    def client() -> None:
        session = Client()
        while True:
            with taking:
                body = next(bodies, None)
            if body is None:
                break
            answer = session.post("/api/v1/events/", body, "application/json", **auth)
            assert answer.status_code == 202, answer.content
        connections.close_all()

    groups._commit = counted
    try:
        elapsed = run_threads([threading.Thread(target=client) for _ in range(clients)])
    finally:
        groups._commit = commit
    return -(-len(events) // size), len(inserts), rate(len(events), elapsed)


def decode_cpu(events: list[dict], size: int, repeats: int) -> dict[str, float]:
    """CPU seconds (the least of ``repeats``, the two paths interleaved) to decode and
    validate one ``size``-event body into columns: as dicts, and typed (msgspec)."""
    from liftlab.ingest import decode_slices
    from liftlab.ingest.columns import to_event_columns
    from liftlab.ingest.pipeline import now_ms
    from liftlab.ingest.validation import Rules

    body, rules, now = json.dumps(events[:size]).encode(), Rules(), now_ms()
    best = {"dicts": float("inf"), "typed": float("inf")}
    for _ in range(repeats):
        for path in best:
            started = time.process_time()
            for part in decode_slices(body, typed=path == "typed"):
                to_event_columns(part, "bench", now, rules)
            best[path] = min(best[path], time.process_time() - started)
    return best


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


def native_request(chunk: list[dict], secret: str) -> tuple[bytes, dict[str, str]]:
    return json.dumps(chunk).encode(), {"Authorization": f"Bearer {secret}"}


def segment_request(chunk: list[dict], secret: str) -> tuple[bytes, dict[str, str]]:
    """Segment's /v1/batch: track messages, the write key as Basic auth's username."""
    messages = []
    for e in chunk:
        properties = dict(e.get("properties") or {})
        if e["event"] == "$flag_exposure":
            properties.update(feature_name=e["feature_name"], value=e["value"])
        messages.append(
            {
                "type": "track",
                "event": e["event"],
                "userId": e["identifier"],
                "properties": properties,
                "traits": e["traits"],
                "messageId": e["event_id"],
                "timestamp": e["timestamp"],
                "context": {"library": {"name": "analytics-python", "version": "2.3.3"}},
            }
        )
    body = {"batch": messages, "sentAt": datetime.now(UTC).isoformat()}
    basic = base64.b64encode(f"{secret}:".encode()).decode()
    return json.dumps(body).encode(), {"Authorization": f"Basic {basic}"}


def posthog_request(chunk: list[dict], secret: str) -> tuple[bytes, dict[str, str]]:
    """PostHog's /batch/: capture events, the project key as ``api_key`` in the body."""
    batch = []
    for e in chunk:
        properties = dict(e.get("properties") or {}, **{"$lib": "posthog-python"})
        properties["$set"] = e["traits"]
        name = e["event"]
        if name == "$flag_exposure":
            name = "$feature_flag_called"
            properties.update(
                {"$feature_flag": e["feature_name"], "$feature_flag_response": e["value"]}
            )
        batch.append(
            {
                "event": name,
                "distinct_id": e["identifier"],
                "properties": properties,
                "uuid": e["event_id"],
                "timestamp": e["timestamp"],
            }
        )
    body = {"api_key": secret, "batch": batch, "sent_at": datetime.now(UTC).isoformat()}
    return json.dumps(body).encode(), {}


Request = Callable[[list[dict], str], tuple[bytes, dict[str, str]]]
# name -> (path, events per request or None for --batch, request builder)
LOADS: dict[str, tuple[str, int | None, Request]] = {
    "native-100": ("/api/v1/events/", 100, native_request),
    "native-5000": ("/api/v1/events/", None, native_request),
    "segment-100": ("/v1/batch", 100, segment_request),
    "posthog-100": ("/batch/", 100, posthog_request),
}


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    user, system, *_ = os.times()
    return user + system


class Cpu:
    """CPU seconds the server and this client spent on one load, and its requests."""

    def __init__(self, server: int) -> None:
        self.server_pid = server
        self.server = self.client = 0.0
        self.requests = 0

    @contextlib.contextmanager
    def measuring(self, requests: int):
        server, client = process_cpu(self.server_pid), own_cpu()
        yield
        self.server = process_cpu(self.server_pid) - server
        self.client = own_cpu() - client
        self.requests = requests

    def per_request(self, events: int) -> str:
        server, client = (1000 * t / self.requests for t in (self.server, self.client))
        per_event = 1e6 * self.server / events
        return (
            f"server {server:.1f} ms, client {client:.1f} ms of CPU per request "
            f"(server {per_event:.0f} µs per event)"
        )


def new_environment(env: dict[str, str]) -> str:
    """The secret of an ingestion key for a new environment of ``env``'s LIFTLAB_HOME."""
    return subprocess.run(
        [sys.executable, "-c", CREATE_ENVIRONMENT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]


def http_rate(
    base: str,
    env: dict[str, str],
    load: tuple[str, int, Request],
    events: list[dict],
    clients: int,
    cpu: Cpu,
) -> float | None:
    """``clients`` threads, each on a keep-alive connection of its own, send the events in
    requests of ``size`` (taken from one shared queue) as fast as answers come back; None
    when the server has no such endpoint."""
    path, size, build = load
    secret = new_environment(env)
    requests_ = [build(chunk, secret) for chunk in in_batches(events, size)]
    host = urlsplit(base)
    connect = lambda: http.client.HTTPConnection(host.hostname, host.port, timeout=120)  # noqa: E731
    probe = connect()
    body, headers = build([dict(events[0], event_id=str(uuid.uuid4()))], secret)
    probe.request("POST", path, body, {"Content-Type": "application/json", **headers})
    answer = probe.getresponse()
    answer.read()
    probe.close()
    if answer.status == 404:
        return None
    assert answer.status in (200, 202), answer.status

    pending = iter(range(len(requests_)))
    taking = threading.Lock()
    accepted = [0] * clients
    failures: list[str] = []

    def client(number: int) -> None:
        connection = connect()
        try:
            while True:
                with taking:
                    index = next(pending, None)
                if index is None:
                    return
                body, headers = requests_[index]
                connection.request(
                    "POST", path, body, {"Content-Type": "application/json", **headers}
                )
                response = connection.getresponse()
                text = response.read()
                if response.status not in (200, 202):
                    failures.append(f"{response.status}: {text[:200]!r}")
                    return
                accepted[number] += json.loads(text)["accepted"]
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    with cpu.measuring(len(requests_)):
        elapsed = run_threads(threads)
    assert not failures, failures[:3]
    assert sum(accepted) == len(events), f"{sum(accepted)} of {len(events)} accepted"
    return rate(len(events), elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--rounds", type=int, default=3, help="each round runs every path once, in turn"
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated HTTP loads, of {', '.join(LOADS)}"
    )
    parser.add_argument("--no-import", action="store_true", help="skip `liftlab events import`")
    args = parser.parse_args()
    loads = [name for name in LOADS if not args.only or name in args.only.split(",")]

    work = Path(tempfile.mkdtemp(prefix="liftlab-bench-ingest-"))
    os.environ["LIFTLAB_HOME"] = str(work / "local")
    os.environ.pop("EVENTSTORE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liftlab.settings")
    events = make_events(args.events)
    print(
        f"{args.events:,} events per path; raw and native-5000 in batches of {args.batch:,}; "
        f"{args.clients} HTTP clients; work folder {work}"
    )
    for size, repeats in ((5000, 60), (100, 2000)):
        spent = decode_cpu(events, size, repeats)
        print(
            f"decode and validate {size:,} events (CPU, least of {repeats}): "
            f"as dicts {1000 * spent['dicts']:.2f} ms, typed {1000 * spent['typed']:.2f} ms"
        )
    # What the INSERTs alone allow 100-event requests: ``clients`` of them fill one INSERT.
    group = 100 * args.clients
    grouped = f"raw-{group}"
    small = any(LOADS[name][1] == 100 for name in loads)
    paths = ["raw", *([grouped] if small else []), *([] if args.no_import else ["import"]), *loads]
    print(f"{'round':<7}" + "".join(f"{name:>13}" for name in paths))
    rates: list[dict[str, float | None]] = []
    cpu: dict[str, Cpu] = {}  # of the last round
    for round_ in range(args.rounds):
        # Fresh ids each time, so every path stores every event.
        raw, raw_cpu = raw_insert_rate(with_new_ids(events), args.batch, f"bench-raw-{round_}")
        measured: dict[str, float | None] = {"raw": raw}
        if small:
            few = with_new_ids(events[: 50 * group])
            measured[grouped], _ = raw_insert_rate(few, group, f"bench-raw-{group}-{round_}")
        if not args.no_import:
            measured["import"] = import_rate(with_new_ids(events), work)
        home = work / f"server-{round_}"
        env = dict(os.environ, LIFTLAB_HOME=str(home))
        new_environment(env)  # migrates before the server starts
        server, base = serve_on_free_port(env, str(home / "server.log"))
        try:
            for name in loads:
                path, size, build = LOADS[name]
                load = (path, size or args.batch, build)
                cpu[name] = Cpu(server.pid)
                measured[name] = http_rate(
                    base, env, load, with_new_ids(events), args.clients, cpu[name]
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
        rates.append(measured)
        print(f"{round_ + 1:<7}" + "".join(cell(measured, name) for name in paths))
    if args.rounds > 1:
        median = {}
        for name in paths:
            values = [r[name] for r in rates]
            median[name] = None if None in values else statistics.median(values)
        print(f"{'median':<7}" + "".join(cell(median, name) for name in paths))
        ratios = {
            name: statistics.median(r[name] / r["raw"] for r in rates)
            for name in paths[1:]
            if median[name] is not None
        }
        print(
            f"{'÷ raw':<7}{'':>13}"
            + "".join(
                f"{ratios[name]:>13.0%}" if name in ratios else f"{'-':>13}" for name in paths[1:]
            )
        )

    print_cpu(cpu, raw_cpu, args.events, os.cpu_count() or 1)
    raw = statistics.median(r["raw"] for r in rates)
    if grouped in paths:
        print(
            f"{grouped}: INSERTs of {group:,} events one after another, the most {args.clients} "
            "clients of 100 events can put in one (each is answered once its INSERT returns, and "
            "one environment's INSERTs run one at a time): the bound on every 100-event path "
            "before any HTTP, decoding or validation"
        )
    native = {"native-100": 100, "native-5000": args.batch}
    for size in [size for name, size in native.items() if name in loads]:
        outside, inside, wall = request_python(with_new_ids(events[: 200 * size]), size)
        bound = size / outside
        print(
            f"One native {size:,}-event request, in-process: {1000 * outside:.1f} ms of CPU "
            f"outside the store (holding the GIL), {1000 * inside:.1f} ms inside it, "
            f"{1000 * wall:.1f} ms wall; so at most {bound:,.0f} events/s on one GIL "
            f"({bound / raw:.0%} of raw), however INSERTs are shared"
        )
    if "native-100" in loads:
        requests_, inserts, shared = grouping(with_new_ids(events[:40_000]), 100, args.clients)
        print(
            f"In-process, {args.clients} threads of 100-event requests: {requests_} requests "
            f"stored by {inserts} INSERTs ({100 * requests_ / inserts:,.0f} events each on "
            f"average), {shared:,.0f} events/s"
        )


def print_cpu(cpu: dict[str, Cpu], raw_cpu: float, events: int, cores: int) -> None:
    """Where the time went (last round): raw's CPU per event (engine threads included), each
    HTTP load's server CPU per request (its Python part holds one GIL) and the client's,
    which shares the machine's cores."""
    print(f"CPU of the last round ({cores} cores):")
    print(f"  {'raw':<12} {1e6 * raw_cpu / events:.0f} µs per event (engine threads included)")
    for name, spent in cpu.items():
        if spent.requests:
            print(f"  {name:<12} {spent.per_request(events)}")


def cell(measured: dict[str, float | None], name: str) -> str:
    value = measured[name]
    if value is None:
        return f"{'no endpoint':>13}"
    text = f"{value:,.0f}"
    if name != "raw":
        text += f" {value / measured['raw']:.0%}"
    return f"{text:>13}"


def with_new_ids(events: list[dict]) -> list[dict]:
    return [dict(e, event_id=str(uuid.uuid4())) for e in events]


if __name__ == "__main__":
    main()
