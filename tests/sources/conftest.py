"""One real ``liftlab serve`` for the tests of a package (tests/sources, and tests/sdk, which
imports these fixtures), and the cutting proxy that makes SDKs retry. Each test makes its
own environment and experiment there (``tests.sources.experiments``), so tests never see
each other's events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.serving.conftest import Served, start
from tests.sources.cutting_proxy import CuttingProxy

from liftlab.demo.server import stop_server


@pytest.fixture(scope="package")
def server(tmp_path_factory) -> Iterator[Served]:
    """The package's server: one startup for all its tests keeps the suite short."""
    process, served = start(tmp_path_factory.mktemp("server"))
    yield served
    stop_server(process)


@pytest.fixture(scope="package")
def proxy(server: Served) -> Iterator[CuttingProxy]:
    """A proxy in front of the module's server that cuts every third connection."""
    with CuttingProxy(server.host, server.port, every=3) as running:
        yield running
