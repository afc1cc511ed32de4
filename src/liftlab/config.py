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
