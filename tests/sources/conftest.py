"""One real ``liftlab serve`` per test module, an experiment running in it, and the cutting
proxy that makes SDKs retry; the experiment helpers live in ``tests.sources.experiments``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.serving.conftest import Served, start
from tests.sources.cutting_proxy import CuttingProxy

from liftlab.demo.server import stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Served]:
    """A server for the module's tests (one startup per module keeps the suite short)."""
    process, served = start(tmp_path_factory.mktemp("server"))
    yield served
    stop_server(process)


@pytest.fixture(scope="module")
def proxy(server: Served) -> Iterator[CuttingProxy]:
    """A proxy in front of the module's server that cuts every third connection."""
    with CuttingProxy(server.host, server.port, every=3) as running:
        yield running
