"""The ``events`` table: its DDL on one node or on a cluster, and the settings every insert uses.

The column names and interface types are those of Flagsmith's events table; the physical
choices are measured in docs/eventstore.md ("Physical layout"):

- ``metadata`` is a native ``JSON`` column, so a property read by a metric is a typed
  subcolumn (``getSubcolumn(metadata, {p:String})``) instead of a parse of every row's text.
- ``ORDER BY (environment_key, event, identifier, timestamp, event_id)``: one environment's
  events of one name are contiguous, and within them one identity's, which is exactly what a
  per-identity aggregation over an experiment's events reads.
- ``PARTITION BY toYYYYMM(timestamp)``: windows prune whole months (and, within a month, the
  parts whose minimum and maximum time, which every part records, miss the window). A month
  rather than a day bounds what one insert can cost: each partition an insert touches is a
  part written and fsynced, and accepted times span 2000-01-01 to tomorrow, so a batch
  sprayed across days could create thousands of parts (one per day, never merged) where
  months cap the table at ~320 partitions and the ingest rule caps one request at a few.
  Tables made by day (before this layout) are migrated by ``liftlab eventstore init``.
- ``PROJECTION by_event_id``: the (environment_key, event_id) pairs sorted by id, written in
  the same part as the rows, so the duplicate check finds an id without scanning the
  environment and can never disagree with the rows it describes.
- ``ReplacingMergeTree`` with ``event_id`` last in the sorting key is the safety net behind
  the store's check-then-insert: a duplicate that ever slipped in (two writers racing) is
  folded away by merges.
"""

from __future__ import annotations

from collections.abc import Mapping

TABLE = "events"
LOCAL_TABLE = "events_local"

COLUMN_TYPES: Mapping[str, str] = {
    "environment_key": "LowCardinality(String)",
    "event": "LowCardinality(String)",
    "feature_name": "LowCardinality(String)",
    "identifier": "String",
    "value": "String",
    "timestamp": "DateTime64(3, 'UTC')",
    "collected_at": "DateTime64(3, 'UTC')",
    "traits": "String",
    "metadata": "JSON",
    "sdk_language": "LowCardinality(String)",
    "sdk_version": "LowCardinality(String)",
    "event_id": "UUID",
}

# Stored columns only (a Distributed table stores nothing): traits repeat per identity.
CODECS: Mapping[str, str] = {"traits": "CODEC(ZSTD(1))"}
SORTING_KEY = "(environment_key, event, identifier, timestamp, event_id)"
PARTITION_KEY = "toYYYYMM(timestamp)"
# The layout before months: still read and written, migrated by ``ensure_schema``.
LEGACY_PARTITION_KEY = "toDate(timestamp)"
# The copy being built by a migration (or the old table just after the swap).
MIGRATION_TABLE = "events_migrating"
SHARDING_KEY = "cityHash64(identifier)"
PROJECTION = (
    "PROJECTION by_event_id (SELECT environment_key, event_id ORDER BY (environment_key, event_id))"
)
TABLE_SETTINGS: Mapping[str, str] = {
    # Projections on a Replacing table must say what a merge does to them.
    "deduplicate_merge_projection_mode": "'rebuild'",
    # "Accepted" means on disk: a part is fsynced before the INSERT returns.
    "fsync_after_insert": "1",
    "fsync_part_directory": "1",
}
# Lets insert_deduplication_token drop a retried block on a single node too (Replicated
# tables keep their own window of block ids).
SINGLE_NODE_SETTINGS: Mapping[str, str] = {"non_replicated_deduplication_window": "10000"}

# The partitions one INSERT may create before ClickHouse refuses it (its default).
DEFAULT_MAX_PARTITIONS_PER_INSERT = 100

# Every insert: synchronous (never buffered in memory), written through to the shards of a
# Distributed table before returning, and JSON strings kept as strings (no guessing dates).
INSERT_SETTINGS: Mapping[str, int] = {
    "async_insert": 0,
    "distributed_foreground_insert": 1,
    "input_format_try_infer_dates": 0,
    "input_format_try_infer_datetimes": 0,
}


def quote_identifier(name: str) -> str:
    """Backquote a database, table or cluster name (these come from configuration)."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _columns_sql(stored: bool) -> str:
    """The column list; ``stored`` adds the codecs and the projection of a table with parts."""
    codecs = CODECS if stored else {}
    lines = [
        f"    {name} {kind} {codecs.get(name, '')}".rstrip() for name, kind in COLUMN_TYPES.items()
    ]
    if stored:
        lines.append(f"    {PROJECTION}")
    return "(\n" + ",\n".join(lines) + "\n)"


def _table_body(
    engine: str, settings: Mapping[str, str], partition_key: str = PARTITION_KEY
) -> str:
    listed = ", ".join(f"{key} = {value}" for key, value in settings.items())
    return (
        f"{_columns_sql(stored=True)}\nENGINE = {engine}\nPARTITION BY {partition_key}\n"
        f"ORDER BY {SORTING_KEY}\nSETTINGS {listed}"
    )


def single_node_ddl(
    database: str, table: str = TABLE, partition_key: str = PARTITION_KEY
) -> list[str]:
    """The statements that create the table on one server (or in embedded chDB).

    ``table`` and ``partition_key`` are for the migration (and its tests): the new layout's
    copy, or a table in the former layout.
    """
    db = quote_identifier(database)
    settings = {**TABLE_SETTINGS, **SINGLE_NODE_SETTINGS}
    return [
        f"CREATE DATABASE IF NOT EXISTS {db}",
        f"CREATE TABLE IF NOT EXISTS {db}.{table}\n"
        f"{_table_body('ReplacingMergeTree', settings, partition_key)}",
    ]


def cluster_ddl(database: str, cluster: str) -> list[str]:
    """Replicated local tables on every node, and the Distributed table queries and inserts use.

    Sharding by ``cityHash64(identifier)`` keeps one identity's events on one shard, so the
    per-identity aggregation of the results query runs shard-locally.
    """
    db, on_cluster = quote_identifier(database), f"ON CLUSTER {quote_identifier(cluster)}"
    path = f"'/clickhouse/tables/{{shard}}/{database.replace(chr(39), '')}/{LOCAL_TABLE}'"
    engine = f"ReplicatedReplacingMergeTree({path}, '{{replica}}')"
    distributed = f"Distributed({quote_identifier(cluster)}, {db}, {LOCAL_TABLE}, {SHARDING_KEY})"
    return [
        f"CREATE DATABASE IF NOT EXISTS {db} {on_cluster}",
        f"CREATE TABLE IF NOT EXISTS {db}.{LOCAL_TABLE} {on_cluster}\n"
        f"{_table_body(engine, TABLE_SETTINGS)}",
        f"CREATE TABLE IF NOT EXISTS {db}.{TABLE} {on_cluster}\n"
        f"{_columns_sql(stored=False)}\nENGINE = {distributed}",
    ]
