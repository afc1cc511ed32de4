"""A table of the former layout (a partition per day) keeps working, and ``ensure_schema``
(``liftlab eventstore init``) moves it to monthly partitions with every event readable."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from tests.eventstore.events import BASE_TIME, events

from liftlab.eventstore import open_store
from liftlab.eventstore.location import StoreLocation, parse_url
from liftlab.eventstore.schema import LEGACY_PARTITION_KEY, MIGRATION_TABLE, single_node_ddl
from liftlab.eventstore.store import ClickHouseEventStore

COLUMNS = "event, identifier, value, timestamp, toJSONString(metadata), traits, event_id"


@pytest.fixture(params=["chdb", "http"])
def legacy(request) -> Iterator[ClickHouseEventStore]:
    """A store on a database of its own whose events table is partitioned by day."""
    shared = open_store()
    database = f"legacy_{uuid.uuid4().hex[:8]}"
    for statement in single_node_ddl(database, partition_key=LEGACY_PARTITION_KEY):
        shared.query(statement)
    if request.param == "chdb":
        location = StoreLocation(scheme="chdb", database=database, path=shared.location.path)
    else:
        base = request.getfixturevalue("http_server").url.rsplit("/", 1)[0]
        location = parse_url(f"{base}/{database}")
    store = ClickHouseEventStore(location)
    yield store
    store.close()
    shared.query(f"DROP DATABASE IF EXISTS {database} SYNC")


def stored(store: ClickHouseEventStore, env_key: str) -> list[tuple]:
    sql = f"SELECT {COLUMNS} FROM events WHERE environment_key = {{env:String}} ORDER BY event_id"
    return list(store.query(sql, {"env": env_key}).rows)


def partitions(store: ClickHouseEventStore) -> int:
    return store.query("SELECT uniqExact(_partition_id) FROM events").rows[0][0]


def test_a_daily_table_works_and_is_migrated_to_months(legacy, env_key, caplog):
    rows = [
        e._replace(timestamp=BASE_TIME - timedelta(days=day), metadata=f'{{"day": {day}}}')
        for day, e in enumerate(events(env_key, 70))
    ]
    with caplog.at_level(logging.WARNING):
        assert legacy.insert(rows).accepted == 70
    assert legacy.partitioned_by_day
    assert "partitioned by day" in caplog.text and "liftlab eventstore init" in caplog.text
    assert partitions(legacy) == 70
    before = stored(legacy, env_key)
    # An interrupted earlier run left its copy behind: it is dropped, not trusted.
    legacy.query(f"CREATE TABLE {MIGRATION_TABLE} AS events")
    legacy.query(f"INSERT INTO {MIGRATION_TABLE} SELECT * FROM events LIMIT 1")

    legacy.ensure_schema()

    assert not legacy.partitioned_by_day
    assert stored(legacy, env_key) == before
    assert partitions(legacy) == 4  # 2025-12-22 to 2026-03-01
    tables = legacy.query("SELECT name FROM system.tables WHERE database = currentDatabase()")
    assert [name for (name,) in tables.rows] == ["events"]
    ddl = legacy.query("SHOW CREATE TABLE events").rows[0][0]
    assert "PARTITION BY toYYYYMM(timestamp)" in ddl and "by_event_id" in ddl
    again = legacy.insert(rows)  # ids are still known: nothing is stored twice
    assert (again.accepted, again.duplicates) == (0, 70)
    assert legacy.insert(events(env_key, 2)).accepted == 2
    legacy.ensure_schema()  # idempotent
    assert len(stored(legacy, env_key)) == 72
