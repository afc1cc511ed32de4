"""Fixtures of the simulator's tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from .ingestion import IngestionServer


@pytest.fixture
def serve() -> Iterator[Callable[..., IngestionServer]]:
    servers: list[IngestionServer] = []

    def start(*failures: str) -> IngestionServer:
        server = IngestionServer(list(failures))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
