"""Test-wide fixtures (the per-process LIFTLAB_HOME is chosen in tests/settings.py).

chDB allows one data folder per process, so all tests of a process share one
embedded event store; tests isolate themselves by using a fresh environment key.
"""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def env_key() -> str:
    """A fresh environment key, so event-store tests never see each other's rows."""
    return f"env-{uuid.uuid4().hex[:12]}"
