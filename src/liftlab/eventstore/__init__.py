"""The only code that talks to ClickHouse: the ``events`` table, de-duplicated inserts, queries.

    store = open_store("chdb:///var/lib/liftlab/events")   # or clickhouse://user:pw@host:8123/db
    store.insert([StoredEvent(...), ...])                   # -> InsertOutcome(accepted, duplicates)
    store.insert_columns(EventColumns(...))                 # the same, column by column
    store.query("SELECT count() FROM events WHERE environment_key = {env:String}", {"env": key})

See docs/eventstore.md for the table's layout, the de-duplication guarantee and its limits.
"""

from liftlab.eventstore.errors import EventStoreError
from liftlab.eventstore.records import (
    COLUMNS,
    EventColumns,
    InsertOutcome,
    QueryResult,
    StoredEvent,
)
from liftlab.eventstore.registry import open_store
from liftlab.eventstore.store import EventStore

__all__ = [
    "COLUMNS",
    "EventColumns",
    "EventStore",
    "EventStoreError",
    "InsertOutcome",
    "QueryResult",
    "StoredEvent",
    "open_store",
]
