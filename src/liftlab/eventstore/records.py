"""The values that cross the event store's interface: a stored event, an insert's outcome, a result.

``StoredEvent`` is a ``NamedTuple`` rather than a frozen dataclass: it is just as immutable,
but it is built in 0.9 µs instead of 4.5 µs (frozen dataclasses set each field through
``object.__setattr__``), and the ingest path builds one per event at 100,000 events/s.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple


class StoredEvent(NamedTuple):
    """One row of the ``events`` table, column for column (see DESIGN.md, "The events table").

    ``timestamp`` and ``collected_at`` are aware UTC datetimes (stored with millisecond
    precision); ``traits`` and ``metadata`` are JSON object texts.
    """

    environment_key: str
    event: str
    feature_name: str
    identifier: str
    value: str
    timestamp: datetime
    collected_at: datetime
    traits: str
    metadata: str
    sdk_language: str
    sdk_version: str
    event_id: uuid.UUID


class InsertOutcome(NamedTuple):
    """How many rows an insert stored, and how many it skipped as already stored."""

    accepted: int
    duplicates: int


class QueryResult(NamedTuple):
    """A query's column names and its rows (tuples of Python values, in column order)."""

    columns: Sequence[str]
    rows: Sequence[tuple[Any, ...]]


COLUMNS: tuple[str, ...] = StoredEvent._fields
