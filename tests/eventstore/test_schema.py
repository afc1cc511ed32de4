"""The table's DDL: idempotent, one node or a cluster, and the projection the dedup relies on."""

from __future__ import annotations

from liftlab.eventstore.dedup import LOOKUP_SQL
from liftlab.eventstore.schema import cluster_ddl, single_node_ddl

from .events import events


def test_ensure_schema_twice_changes_nothing(store):
    store.ensure_schema()
    before = store.query("SHOW CREATE TABLE events").rows
    store.ensure_schema()
    assert store.query("SHOW CREATE TABLE events").rows == before


def test_the_table_has_the_designs_columns_and_types(store):
    rows = store.query(
        "SELECT name, type FROM system.columns "
        "WHERE database = currentDatabase() AND table = 'events' ORDER BY position"
    ).rows
    assert rows == [
        ("environment_key", "LowCardinality(String)"),
        ("event", "LowCardinality(String)"),
        ("feature_name", "LowCardinality(String)"),
        ("identifier", "String"),
        ("value", "String"),
        ("timestamp", "DateTime64(3, 'UTC')"),
        ("collected_at", "DateTime64(3, 'UTC')"),
        ("traits", "String"),
        ("metadata", "JSON"),
        ("sdk_language", "LowCardinality(String)"),
        ("sdk_version", "LowCardinality(String)"),
        ("event_id", "UUID"),
    ]


def test_the_duplicate_lookup_reads_the_projection_sorted_by_id(store, env_key):
    batch = events(env_key, 10)
    store.insert(batch)
    params = {"environment_key": env_key, "event_ids": [e.event_id for e in batch[:3]]}
    plan = store.query(f"EXPLAIN projections = 1 {LOOKUP_SQL}", params).rows
    text = "\n".join(line for (line,) in plan)
    # On ten rows reading the table is as cheap, so the planner may only call it usable.
    assert "ReadFromMergeTree (by_event_id)" in text or "by_event_id is usable" in text


def test_single_node_ddl_quotes_the_database_name():
    create_db, create_table = single_node_ddl("odd`name")
    assert "`odd\\`name`" in create_db
    assert "ReplacingMergeTree" in create_table
    assert "PARTITION BY toYYYYMM(timestamp)" in create_table


def test_cluster_ddl_makes_replicated_local_tables_and_a_sharded_distributed_table():
    create_db, local, distributed = cluster_ddl("liftlab", "main")
    assert "ON CLUSTER `main`" in create_db
    assert "`liftlab`.events_local ON CLUSTER `main`" in local
    assert "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/liftlab/events_local'" in local
    assert "PROJECTION by_event_id" in local
    assert "Distributed(`main`, `liftlab`, events_local, cityHash64(identifier))" in distributed
