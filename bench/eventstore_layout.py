"""Benchmark: the physical choices of the ``events`` table, each against its alternative.

Measured in embedded chDB on synthetic events (the same generator for every variant; the
best of ``--repeat`` runs is kept, since this machine is shared):

1. ``metadata`` as native JSON or as String: insert cost, size, and reading one property;
2. the sorting key: identity before time, or time before identity: size and a per-identity
   aggregation over one event name, as the results query does;
3. durability: a 5,000-event insert with and without fsync of the new part;
4. de-duplication: which of 5,000 random ids are stored, asked of the projection sorted
   by id, and asked of the in-memory filter.

    .venv/bin/python bench/eventstore_layout.py [--rows 2000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable

from chdb import state

from liftlab.eventstore import schema
from liftlab.eventstore.seen import SeenFilter

BATCH = 5000
FILL = """
INSERT INTO {table}
SELECT 'env', ['page_view', 'add_to_cart', 'purchase', '$flag_exposure'][1 + number % 4], '',
       concat('user-', toString(cityHash64(number) % {identities})), toString(number % 200),
       toDateTime64('2026-01-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(number * 1300),
       now64(3), '{{}}',
       concat('{{"amount":', toString(number % 997 / 10),
              ',"plan":"', ['free', 'pro'][1 + number % 2], '"}}'),
       'python', '1.0', generateUUIDv4(number)
FROM numbers({start}, {rows})
"""
INSERT_SETTINGS = "SETTINGS input_format_try_infer_dates = 0, input_format_try_infer_datetimes = 0"


def create(
    conn,
    table: str,
    *,
    metadata: str = "JSON",
    order: str = schema.SORTING_KEY,
    settings: str = "index_granularity = 8192",
    projection: bool = True,
) -> None:
    columns = {**schema.COLUMN_TYPES, "metadata": metadata}
    body = ",\n".join(f"{n} {k} {schema.CODECS.get(n, '')}" for n, k in columns.items())
    if projection:
        body += ",\n" + schema.PROJECTION
        settings += ", deduplicate_merge_projection_mode = 'rebuild'"
    conn.query(f"DROP TABLE IF EXISTS {table}")
    conn.query(
        f"CREATE TABLE {table} ({body}) ENGINE = ReplacingMergeTree "
        f"PARTITION BY {schema.PARTITION_KEY} ORDER BY {order} SETTINGS {settings}"
    )


def best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def fill(conn, table: str, rows: int, identities: int) -> None:
    conn.query(FILL.format(table=table, start=0, rows=rows, identities=identities))
    conn.query(f"OPTIMIZE TABLE {table} FINAL")


def size(conn, table: str) -> str:
    sql = (
        "SELECT formatReadableSize(sum(data_compressed_bytes)) FROM system.parts "
        f"WHERE active AND table = '{table}'"
    )
    return conn.query(sql, "TSVRaw").bytes().decode().strip()


def batch_insert(conn, table: str, repeat: int, offset: int) -> float:
    """One 5,000-row insert of the same shape (INSERT … SELECT: the engine's work only)."""
    counter = iter(range(offset, offset + repeat * BATCH, BATCH))
    sql = FILL.replace("SELECT", f"{INSERT_SETTINGS} SELECT", 1)
    return best(
        repeat,
        lambda: conn.query(
            sql.format(table=table, start=next(counter), rows=BATCH, identities=50_000)
        ),
    )


def metadata_types(conn, rows: int, repeat: int) -> None:
    print("1. metadata as JSON or String")
    for kind, read in (
        ("JSON", "sum(toFloat64OrNull(toString(getSubcolumn(metadata, 'amount'))))"),
        ("String", "sum(JSONExtractFloat(metadata, 'amount'))"),
    ):
        table = f"meta_{kind.lower()}"
        create(conn, table, metadata=kind)
        fill(conn, table, rows, rows // 20)
        scan = best(
            repeat, lambda read=read, table=table: conn.query(f"SELECT {read} FROM {table}")
        )
        insert = batch_insert(conn, table, repeat, rows)
        print(
            f"   {kind:<7} size {size(conn, table):>10}  read one property {scan * 1000:7.1f} ms"
            f"  insert 5,000 {insert * 1000:6.1f} ms"
        )


def sorting_keys(conn, rows: int, repeat: int) -> None:
    print("2. sorting key")
    query = """
    SELECT identifier, countIf(event = 'purchase'),
           sumIf(toFloat64OrZero(value), event = 'purchase')
    FROM {table} WHERE environment_key = 'env' AND event IN ('$flag_exposure', 'purchase')
      AND timestamp >= '2026-01-05' AND timestamp < '2026-01-20'
    GROUP BY identifier FORMAT Null
    """
    for name, order in (
        ("identity first", schema.SORTING_KEY),
        ("time first", "(environment_key, event, timestamp, identifier, event_id)"),
    ):
        table = "order_" + name.split()[0]
        create(conn, table, order=order)
        fill(conn, table, rows, rows // 20)
        scan = best(repeat, lambda table=table: conn.query(query.format(table=table)))
        print(
            f"   {name:<15} size {size(conn, table):>10}  per-identity aggregation "
            f"{scan * 1000:7.1f} ms"
        )


def durability(conn, repeat: int) -> None:
    print("3. fsync of each new part (5,000 events, one day)")
    for name, settings in (
        ("without fsync", "index_granularity = 8192"),
        ("with fsync", "fsync_after_insert = 1, fsync_part_directory = 1"),
    ):
        table = "fsync_" + name.split()[0]
        create(conn, table, settings=settings)
        print(f"   {name:<14} insert {batch_insert(conn, table, repeat, 0) * 1000:6.1f} ms")


def duplicate_lookup(conn, rows: int, repeat: int) -> None:
    print(f"4. which of 5,000 new ids are stored, among {rows:,}")
    ids = [str(uuid.uuid4()) for _ in range(BATCH)]
    literal = "[" + ",".join(f"'{i}'" for i in ids) + "]"
    sql = (
        "SELECT event_id FROM meta_json WHERE environment_key = 'env' "
        "AND event_id IN {ids:Array(UUID)} SETTINGS use_query_condition_cache = 0"
    )
    lookup = best(repeat, lambda: conn.query(sql, "TSV", params={"ids": literal}))
    seen = SeenFilter(expected=rows)
    seen.add_all(os.urandom(16) for _ in range(rows))
    keys = [uuid.UUID(i).bytes for i in ids]
    screen = best(repeat, lambda: seen.check_and_add(keys))
    print(f"   projection lookup {lookup * 1000:7.1f} ms   filter {screen * 1000:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    conn = state.connect(tempfile.mkdtemp(prefix="liftlab-bench-layout-"))
    metadata_types(conn, args.rows, args.repeat)
    sorting_keys(conn, args.rows, args.repeat)
    durability(conn, args.repeat)
    duplicate_lookup(conn, args.rows, args.repeat)


if __name__ == "__main__":
    main()
