"""``open_store``: one store object per URL in a process.

chDB hosts one data folder per process, and a store carries state worth sharing (its
connection, its lock, its filter of stored ids), so every caller asking for the same URL
gets the same object; asking for a second chDB folder is refused with a clear message.
"""

from __future__ import annotations

import threading

from liftlab import config
from liftlab.eventstore.errors import EventStoreError
from liftlab.eventstore.location import parse_url
from liftlab.eventstore.store import ClickHouseEventStore

_lock = threading.Lock()
_stores: dict[str, ClickHouseEventStore] = {}


def open_store(url: str | None = None) -> ClickHouseEventStore:
    """The store at ``url`` (default: ``EVENTSTORE_URL`` or chDB in ``LIFTLAB_HOME``)."""
    location = parse_url(url or config.eventstore_url())
    key = location.path if location.embedded else url or config.eventstore_url()
    with _lock:
        store = _stores.get(key)
        if store is None:
            _refuse_second_chdb_folder(location.path if location.embedded else None)
            store = _stores[key] = _OwnedStore(location, key)
        return store


def _refuse_second_chdb_folder(path: str | None) -> None:
    if path is None:
        return
    for other in _stores.values():
        if other.location.embedded and other.location.path != path:
            raise EventStoreError(
                f"chDB allows one data folder per process: {other.location.path} is open, "
                f"so {path} cannot be opened too"
            )


class _OwnedStore(ClickHouseEventStore):
    """A registered store: closing it also forgets it, so the next open starts afresh."""

    def __init__(self, location, key: str) -> None:
        super().__init__(location)
        self._key = key

    def close(self) -> None:
        with _lock:
            if _stores.get(self._key) is self:
                del _stores[self._key]
        super().close()
