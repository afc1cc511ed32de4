"""Which rows of a batch are new: not repeated earlier in the batch, not already stored.

The store calls these under its lock, so between the check and the insert no other thread
of this process can store the same id. ``StoredIdCheck`` asks the table every time (right
for a server that other processes may write to); ``FilteredStoredIdCheck`` is for embedded
chDB, where this process is the only writer: a per-environment Bloom filter answers for the
ids it has certainly never stored, and only the rest are looked up. The filter records the
ids as they are checked, so it holds every id this process ever tried to store.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from liftlab.eventstore.records import QueryResult, StoredEvent
from liftlab.eventstore.schema import TABLE
from liftlab.eventstore.seen import SeenFilter

# 5,000 ids make a ~200 KB parameter: well inside a server's URL limit (http_max_uri_size).
LOOKUP_CHUNK = 5000

LOOKUP_SQL = (
    f"SELECT event_id FROM {TABLE} "
    "WHERE environment_key = {environment_key:String} AND event_id IN {event_ids:Array(UUID)}"
)
COUNT_SQL = f"SELECT count() FROM {TABLE} WHERE environment_key = {{environment_key:String}}"
# The ids as their 16 RFC-order bytes (= uuid.UUID.bytes): decoding UUID objects is 20x slower.
IDS_SQL = (
    f"SELECT UUIDToNum(event_id) FROM {TABLE} WHERE environment_key = {{environment_key:String}}"
)

Query = Callable[[str, Mapping[str, Any]], QueryResult]
StreamKeys = Callable[[str, Mapping[str, Any]], Iterable[bytes]]


def by_environment(rows: Sequence[StoredEvent]) -> dict[str, list[StoredEvent]]:
    """Group rows by environment, keeping only the first row of each repeated event_id.

    Keyed by ``UUID.int``: ``UUID.__hash__`` is Python code, an int hashes in C.
    """
    groups: dict[str, dict[int, StoredEvent]] = {}
    for row in rows:
        group = groups.get(row.environment_key)
        if group is None:
            group = groups[row.environment_key] = {}
        group.setdefault(row.event_id.int, row)
    return {env: list(group.values()) for env, group in groups.items()}


class StoredIdCheck:
    """Looks every id up in the table (via the projection sorted by id)."""

    def __init__(self, query: Query) -> None:
        self._query = query

    def new_rows(self, rows: Sequence[StoredEvent]) -> list[StoredEvent]:
        """The rows whose (environment_key, event_id) is neither stored nor earlier in ``rows``."""
        fresh: list[StoredEvent] = []
        for env, group in by_environment(rows).items():
            stored = self.stored_ids(env, [row.event_id for row in group])
            if stored:  # usually empty; skipping it skips a Python-level UUID hash per row
                group = [row for row in group if row.event_id not in stored]
            fresh.extend(group)
        return fresh

    def stored_ids(self, environment_key: str, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """The subset of ``ids`` that the environment already stores."""
        found: set[uuid.UUID] = set()
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            params = {"environment_key": environment_key, "event_ids": chunk}
            found.update(row[0] for row in self._query(LOOKUP_SQL, params).rows)
        return found

    def forget(self) -> None:
        """Called after a statement that may have written rows behind the check's back."""


class FilteredStoredIdCheck(StoredIdCheck):
    """For a single writer: a Bloom filter per environment screens ids before the lookup."""

    def __init__(self, query: Query, stream_keys: StreamKeys) -> None:
        super().__init__(query)
        self._stream_keys = stream_keys
        self._filters: dict[str, SeenFilter] = {}

    def stored_ids(self, environment_key: str, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        flags = self._filter(environment_key).check_and_add([u.bytes for u in ids])
        maybe = [u for u, flag in zip(ids, flags, strict=True) if flag]
        return super().stored_ids(environment_key, maybe) if maybe else set()

    def forget(self) -> None:
        self._filters.clear()

    def _filter(self, environment_key: str) -> SeenFilter:
        """The environment's filter, built from the table the first time it is needed."""
        seen = self._filters.get(environment_key)
        if seen is None:
            params = {"environment_key": environment_key}
            count = self._query(COUNT_SQL, params).rows[0][0]
            seen = SeenFilter(expected=count)
            seen.add_all(self._stream_keys(IDS_SQL, params))
            self._filters[environment_key] = seen
        return seen
