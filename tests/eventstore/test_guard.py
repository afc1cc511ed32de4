"""A chDB store whose files vanish while it runs refuses every statement instead of
acknowledging events it cannot find again after a restart.

The test process's own folder cannot be removed (every test shares it), so the store under
test uses a database of its own in that folder, and it is that table's metadata file that
disappears (an rm -rf of the whole folder is exercised across processes in
tests/ingest/test_lost_folder.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from tests.eventstore.events import events

from liftlab.eventstore import EventStoreError, open_store
from liftlab.eventstore.errors import MISSING
from liftlab.eventstore.guard import FolderGuard
from liftlab.eventstore.location import StoreLocation
from liftlab.eventstore.store import ClickHouseEventStore


def test_a_removed_or_replaced_folder_is_lost_for_good(tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "table.sql").write_text("CREATE TABLE …")
    guard = FolderGuard()
    guard.watch([str(folder), str(folder / "table.sql")])
    guard.check()
    (folder / "table.sql").unlink()
    folder.rmdir()
    folder.mkdir()  # as an engine that writes recreates directories
    (folder / "table.sql").write_text("CREATE TABLE …")
    for _ in range(2):
        with pytest.raises(EventStoreError, match="events") as lost:
            guard.check()
        assert lost.value.reason == MISSING
        assert str(folder) not in MISSING


@pytest.fixture
def own_database() -> Iterator[ClickHouseEventStore]:
    """A store on this process's chDB folder in a database no other test uses."""
    shared = open_store()
    database = f"guard_{uuid.uuid4().hex[:8]}"
    shared.query(f"CREATE DATABASE {database}")
    store = ClickHouseEventStore(
        StoreLocation(scheme="chdb", database=database, path=shared.location.path)
    )
    yield store
    store.close()
    shared.query(f"DROP DATABASE IF EXISTS {database} SYNC")


def test_events_are_refused_once_the_table_files_are_gone(own_database):
    store = own_database
    rows = events("env-guard", 3)
    assert store.insert(rows).accepted == 3
    metadata = os.path.realpath(
        os.path.join(store.location.path, "metadata", store.location.database, "events.sql")
    )
    os.rename(metadata, metadata + ".away")
    try:
        with pytest.raises(EventStoreError) as refused:
            store.insert(events("env-guard", 2))
        assert refused.value.reason == MISSING
        with pytest.raises(EventStoreError):
            store.query("SELECT count() FROM events")
    finally:
        os.rename(metadata + ".away", metadata)
    with pytest.raises(EventStoreError):  # put back: still refused until a restart
        store.insert(events("env-guard", 2))
    table = f"{store.location.database}.events"
    assert open_store().query(f"SELECT count() FROM {table}").rows[0][0] == 3
