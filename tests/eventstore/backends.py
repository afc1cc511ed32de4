"""The ``store`` fixture: a test runs once on embedded chDB and once over ClickHouse's HTTP API.

The HTTP side is clickhouse-connect talking to ``ChdbHttpServer``, which runs the statements
in this process's chDB engine, in a database of its own (chDB allows one data folder per
process, so both backends share the engine; tests isolate themselves by environment key).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.eventstore.chdb_http_server import ChdbHttpServer

from liftlab.eventstore import open_store
from liftlab.eventstore.store import ClickHouseEventStore

HTTP_DATABASE = "liftlab_http"


@pytest.fixture(scope="session")
def http_server() -> Iterator[ChdbHttpServer]:
    server = ChdbHttpServer(open_store().location.path, HTTP_DATABASE).start()
    yield server
    server.stop()


@pytest.fixture(params=["chdb", "http"])
def store(request: pytest.FixtureRequest) -> ClickHouseEventStore:
    if request.param == "chdb":
        return open_store()
    return open_store(request.getfixturevalue("http_server").url)
