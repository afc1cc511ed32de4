"""Which events of a batch are new: not repeated earlier in the batch, not already stored.

The store calls these under its lock, so between the check and the insert no other thread
of this process can store the same id. ``StoredIdCheck`` asks the table every time (right
for a server that other processes may write to); ``FilteredStoredIdCheck`` is for embedded
chDB, where this process is the only writer: a per-environment Bloom filter answers for the
ids it has certainly never stored, and only the rest are looked up. The filter records the
ids as they are checked, so it holds every id this process ever tried to store.

Ids are handled as their 16 bytes (``UUID.bytes``): bytes hash in C and need no object per
id, where ``UUID.__hash__`` is Python code.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from liftlab.eventstore.records import QueryResult
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


def first_of_each(
    environment_keys: Sequence[str], event_ids: Sequence[bytes]
) -> dict[str, list[int]]:
    """Per environment, the positions of the first event of each id, in batch order."""
    environments = set(environment_keys)
    if len(environments) == 1:
        return {environments.pop(): _first_positions(event_ids)}
    pairs = list(zip(environment_keys, event_ids, strict=True))
    groups: dict[str, list[int]] = {}
    for index in _first_positions(pairs):
        groups.setdefault(environment_keys[index], []).append(index)
    return groups


def _first_positions(keys: Sequence[Any]) -> list[int]:
    """Positions of the first occurrence of each key; built in C (reversed, so first wins)."""
    first = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
    return list(range(len(keys))) if len(first) == len(keys) else sorted(first.values())


class StoredIdCheck:
    """Looks every id up in the table (via the projection sorted by id)."""

    def __init__(self, query: Query) -> None:
        self._query = query

    def new_positions(
        self, environment_keys: Sequence[str], event_ids: Sequence[bytes]
    ) -> list[int]:
        """Positions of the events whose (environment, id) is neither stored nor earlier."""
        fresh: list[int] = []
        for environment_key, positions in first_of_each(environment_keys, event_ids).items():
            stored = self.stored_ids(environment_key, [event_ids[i] for i in positions])
            if stored:
                positions = [i for i in positions if event_ids[i] not in stored]
            fresh.extend(positions)
        return sorted(fresh) if len(fresh) < len(event_ids) else fresh

    def stored_ids(self, environment_key: str, ids: Sequence[bytes]) -> set[bytes]:
        """The subset of ``ids`` that the environment already stores."""
        found: set[bytes] = set()
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = [uuid.UUID(bytes=key) for key in ids[start : start + LOOKUP_CHUNK]]
            params = {"environment_key": environment_key, "event_ids": chunk}
            found.update(row[0].bytes for row in self._query(LOOKUP_SQL, params).rows)
        return found

    def forget(self) -> None:
        """Called after a statement that may have written rows behind the check's back."""


class FilteredStoredIdCheck(StoredIdCheck):
    """For a single writer: a Bloom filter per environment screens ids before the lookup."""

    def __init__(self, query: Query, stream_keys: StreamKeys) -> None:
        super().__init__(query)
        self._stream_keys = stream_keys
        self._filters: dict[str, SeenFilter] = {}

    def stored_ids(self, environment_key: str, ids: Sequence[bytes]) -> set[bytes]:
        flags = self._filter(environment_key).check_and_add(ids)
        maybe = [key for key, flag in zip(ids, flags, strict=True) if flag]
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
