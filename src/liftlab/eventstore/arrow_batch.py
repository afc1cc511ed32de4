"""Rows to an Arrow table, the fastest way from Python objects into ClickHouse.

pyarrow builds each column from a Python list in C (≈1.5 µs per event for all twelve
columns) and ClickHouse reads Arrow natively: a 5,000-event insert took 24–25 ms this way
and 28–33 ms through clickhouse-connect's Native encoder (engine time included). pyarrow is
a dependency of the project already, and clickhouse-connect's own Arrow path needs it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from liftlab.eventstore.records import COLUMNS, StoredEvent

TIMESTAMP = pa.timestamp("ms", tz="UTC")
# pyarrow converts datetimes to microseconds 3.5x faster than to milliseconds; the cast after
# it is vectorised (and drops any sub-millisecond digits a caller left).
_MICROSECONDS = pa.timestamp("us", tz="UTC")
UUID_BYTES = pa.binary(16)
_TIME_COLUMNS = {"timestamp", "collected_at"}


def to_arrow(rows: Sequence[StoredEvent]) -> pa.Table:
    """One Arrow table holding ``rows`` column for column (event_id as its 16 bytes)."""
    columns = list(zip(*rows, strict=True))
    arrays = []
    for name, values in zip(COLUMNS, columns, strict=True):
        if name in _TIME_COLUMNS:
            arrays.append(pa.array(values, _MICROSECONDS).cast(TIMESTAMP, safe=False))
        elif name == "event_id":
            arrays.append(pa.array([u.bytes for u in values], UUID_BYTES))
        else:
            arrays.append(pa.array(values, pa.string()))
    return pa.Table.from_arrays(arrays, names=list(COLUMNS))


def distinct_days(table: pa.Table) -> int:
    """How many day partitions the rows fall into."""
    return pc.count_distinct(pc.cast(table.column("timestamp"), pa.date32())).as_py()
