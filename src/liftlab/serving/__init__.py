"""The HTTP server behind ``liftlab serve``: uvicorn (asyncio, h11) in front of Django's ASGI app.

Slow or stalled clients live in the event loop, never in Django's threads:

- ``liftlab.serving.protocol``: header and body read deadlines (408), on top of uvicorn's
  keep-alive timeout and connection limit (``503`` once ``max_connections`` are open);
- ``liftlab.serving.buffering`` (applied in ``liftlab.asgi``): whole bodies read in the loop
  within the size limits (413), chunked bodies given a ``Content-Length``, then Django on one of
  ``threads`` threads, the response written after the thread is free.

One process by default (embedded chDB allows one per data folder); with a ClickHouse server
``workers`` processes share the listening socket (uvicorn's supervisor). Beside them, one
thread of the ``liftlab serve`` process refreshes running experiments' results every
``refresh_minutes`` (``liftlab.serving.refresh``). docs/serving.md has the settings and the
measurements.
"""

from __future__ import annotations

from dataclasses import dataclass

THREADS_VARIABLE = "LIFTLAB_THREADS"  # read by liftlab.asgi, in each worker process


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    threads: int = 8
    max_connections: int = 1000
    header_timeout: float = 10.0  # s to send a request's headers
    body_timeout: float = 60.0  # s to send a request's body, from the end of its headers
    keep_alive: float = 5.0  # s an idle connection stays open between requests
    refresh_minutes: float = 0.0  # between scheduled results refreshes; 0: none
