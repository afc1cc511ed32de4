"""Test-wide set-up: every test run gets its own LIFTLAB_HOME.

chDB allows one data folder per process, so all tests of a process share one
embedded event store; tests isolate themselves by using a fresh environment key.
"""

from __future__ import annotations

import os
import tempfile
import uuid

import pytest


def pytest_configure(config: pytest.Config) -> None:
    home = tempfile.mkdtemp(prefix="liftlab-test-")
    os.environ["LIFTLAB_HOME"] = home
    os.environ.pop("EVENTSTORE_URL", None)
    os.environ.setdefault("SECRET_KEY", "test-only-secret-key")


@pytest.fixture
def env_key() -> str:
    """A fresh environment key, so event-store tests never see each other's rows."""
    return f"env-{uuid.uuid4().hex[:12]}"
