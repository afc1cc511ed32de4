"""Configuration from environment variables, with embedded defaults.

A fresh checkout needs no server: everything lives under ``LIFTLAB_HOME``
(SQLite for the models, chDB for the events) unless a URL says otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The folder that holds the embedded databases (``LIFTLAB_HOME``, default ``./.liftlab``)."""
    return Path(os.environ.get("LIFTLAB_HOME", ".liftlab")).resolve()


def database_url() -> str:
    """Where the models live (``DATABASE_URL``, default SQLite in ``LIFTLAB_HOME``)."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{home() / 'liftlab.sqlite3'}"


def eventstore_url() -> str:
    """Where the events live (``EVENTSTORE_URL``, default embedded chDB in ``LIFTLAB_HOME``)."""
    return os.environ.get("EVENTSTORE_URL") or f"chdb://{home() / 'events'}"


def env_flag(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable (1/true/yes/on)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


# Events per INSERT of ``liftlab events import``. Each INSERT pays ~18 ms of fixed work (a new
# part) in chDB: 9.1 µs per event in batches of 5,000, 5.8 in batches of 20,000
# (docs/eventstore.md, "Throughput").
IMPORT_BATCH_SIZE = 20_000
