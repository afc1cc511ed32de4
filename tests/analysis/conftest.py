"""The analysis tests run their SQL on the real embedded event store of this test process."""

from __future__ import annotations

import pytest

from liftlab.eventstore import EventStore, open_store


@pytest.fixture(scope="module")
def store() -> EventStore:
    """The process's chDB store (tests isolate themselves with fresh environment keys)."""
    return open_store()
