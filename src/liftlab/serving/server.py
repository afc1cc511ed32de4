"""Run uvicorn with liftlab's protocol and application (see ``liftlab.serving``)."""

from __future__ import annotations

import os
import resource

import uvicorn

from liftlab.serving import THREADS_VARIABLE, ServeOptions
from liftlab.serving.protocol import DeadlineH11Protocol
from liftlab.serving.refresh import scheduled_refreshes

GRACEFUL_SHUTDOWN_SECONDS = 10


class ServeConfig(uvicorn.Config):
    """uvicorn's configuration plus the read deadlines ``DeadlineH11Protocol`` looks up.

    Picklable (a plain subclass with two more numbers): worker processes get a copy.
    """

    def __init__(self, *args, header_timeout: float, body_timeout: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout


def config_for(options: ServeOptions) -> ServeConfig:
    return ServeConfig(
        "liftlab.asgi:application",
        host=options.host,
        port=options.port,
        workers=options.workers,
        http=DeadlineH11Protocol,
        loop="asyncio",
        ws="none",
        lifespan="off",  # Django's ASGI handler has no lifespan
        interface="asgi3",
        access_log=False,
        server_header=False,
        # uvicorn answers 503 to a request that arrives while this many connections are
        # open (itself included): so max_connections are served and the next one refused.
        limit_concurrency=options.max_connections + 1,
        timeout_keep_alive=options.keep_alive,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        header_timeout=options.header_timeout,
        body_timeout=options.body_timeout,
    )


def raise_open_files_limit(connections: int) -> None:
    """Each connection is a file descriptor: make room for them (and chDB's files) if allowed."""
    wanted = connections + 512
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def run(options: ServeOptions) -> None:
    """Serve until SIGINT or SIGTERM (then finish the requests in progress, ≤ 10 s).

    The scheduled results refreshes run in this process, whatever the number of workers: one
    refresher per ``liftlab serve``, in the process that holds an embedded store.
    """
    os.environ[THREADS_VARIABLE] = str(options.threads)
    raise_open_files_limit(options.max_connections)
    config = config_for(options)
    with scheduled_refreshes(options.refresh_minutes):
        if options.workers > 1:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            uvicorn.Server(config).run()
