"""Benchmark: a normal request's latency while slow clients hold connections to ``liftlab serve``.

Starts a ``liftlab serve`` child on a fresh LIFTLAB_HOME (the embedded defaults: SQLite +
chDB, one process) on a free loopback port, with an environment and a sender's credential,
then times ``--requests`` sequential GETs of ``/api/v1/environments/`` (a 401 without a
token: the whole Django stack) each on a new connection:

1. with no slow client;
2. with ``--slow`` slow clients connected (tests/serving/slow_clients.py): half trickle their
   request headers, half an events batch after valid, authenticated headers, one byte per
   socket every ``--interval`` s;
3. optionally (``--hold S``): how many of them the server has closed after S more seconds.

The server runs with ``--header-timeout``/``--body-timeout`` of 120 s unless ``--server``
says otherwise (e.g. ``--server=""`` for the defaults, 10 s and 60 s), so that phase 2
measures with every slow client still connected.

    .venv/bin/python bench/serving.py [--slow 200] [--interval 2] [--requests 20] [--hold 0]
                                      [--server "--header-timeout 120 --body-timeout 120"]
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/serving, the slow clients

from tests.serving.conftest import start
from tests.serving.slow_clients import SlowClients, latencies, wait_for

from liftlab.demo.server import stop_server

PATH = "/api/v1/environments/"


def summary(label: str, results: list[tuple[float, int | None]]) -> str:
    seconds = sorted(s for s, _ in results)
    failed = sum(status is None for _, status in results)
    return (
        f"{label:<30} median {statistics.median(seconds) * 1000:8.1f} ms   "
        f"max {seconds[-1] * 1000:8.1f} ms   failed {failed}/{len(results)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=200, help="slow clients (half of each kind)")
    parser.add_argument("--interval", type=float, default=2.0, help="s between a socket's bytes")
    parser.add_argument("--requests", type=int, default=20, help="timed GETs per phase")
    parser.add_argument("--hold", type=float, default=0.0, help="then wait up to S s for cuts")
    parser.add_argument("--server", default="--header-timeout 120 --body-timeout 120")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="liftlab-bench-serving-") as folder:
        server, served = start(Path(folder), tuple(shlex.split(args.server)))
        try:
            url = served.base + PATH
            latencies(url, 3)  # warm up
            print(summary("no slow client", latencies(url, args.requests)))
            half = args.slow // 2
            with SlowClients(
                served.host,
                served.port,
                headers=half,
                bodies=args.slow - half,
                interval=args.interval,
                sender=served.sender,
            ) as slow:
                time.sleep(args.interval + 0.5)  # every socket has trickled at least once
                label = f"{args.slow} slow ({slow.connected} connected)"
                print(summary(label, latencies(url, args.requests)))
                if args.hold:
                    started = time.monotonic()
                    wait_for(lambda: slow.connected == 0, args.hold)
                    print(
                        f"after {time.monotonic() - started:.1f} s more: {slow.connected} of "
                        f"{args.slow} still connected ({len(slow.answers)} answered, "
                        f"{sum(a.startswith(b'HTTP/1.1 408') for a in slow.answers)} with 408)"
                    )
        finally:
            stop_server(server)


if __name__ == "__main__":
    main()
