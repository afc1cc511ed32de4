"""The event store: the ``EventStore`` interface and its ClickHouse implementation.

One implementation serves both backends because clickhouse-connect drives embedded chDB and
a server through the same client; what differs is who else may write. chDB allows one process
per data folder, so the store is the only writer and screens ids with an in-memory filter;
on a server every id of a batch is looked up in the table.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from clickhouse_connect.driver.exceptions import ClickHouseError

from liftlab.eventstore import arrow_batch
from liftlab.eventstore.dedup import FilteredStoredIdCheck, StoredIdCheck
from liftlab.eventstore.errors import EventStoreError
from liftlab.eventstore.location import StoreLocation
from liftlab.eventstore.records import EventColumns, InsertOutcome, QueryResult, StoredEvent
from liftlab.eventstore.schema import (
    DEFAULT_MAX_PARTITIONS_PER_INSERT,
    INSERT_SETTINGS,
    TABLE,
    cluster_ddl,
    single_node_ddl,
)

PLACEHOLDER = re.compile(r"\{\s*\w+\s*:[^}]+\}")
READ_STATEMENT = re.compile(
    r"(?:\s+|--[^\n]*+|(?>/\*.*?\*/))*(?:\(|(?:SELECT|WITH|EXPLAIN|SHOW|DESCRIBE|DESC)\b)",
    re.I | re.S,
)


@runtime_checkable
class EventStore(Protocol):
    """What the service, the importer and the results query need from the events table."""

    def ensure_schema(self, cluster: str | None = None) -> None:
        """Create the table if it is missing (idempotent; also done before first use).

        With ``cluster``: replicated local tables on every node and a Distributed ``events``.
        """

    def insert(self, rows: Sequence[StoredEvent]) -> InsertOutcome:
        """Store the rows whose event_id the environment does not have yet; on disk on return."""

    def insert_columns(self, columns: EventColumns) -> InsertOutcome:
        """``insert`` for events given column by column (the ingest path's fast way)."""

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        """Run SQL whose values are all ``{name:Type}`` placeholders bound from ``params``."""

    def close(self) -> None:
        """Release the connection."""


class ClickHouseEventStore:
    """The ``events`` table in chDB or on a ClickHouse server, through clickhouse-connect."""

    def __init__(self, location: StoreLocation) -> None:
        self.location = location
        self._client = location.connect()
        self._lock = threading.RLock()
        self._schema_ready = False
        if location.embedded:
            self._ids = FilteredStoredIdCheck(self.query, self._stream_keys)
        else:
            self._ids = StoredIdCheck(self.query)

    def __repr__(self) -> str:
        return f"<ClickHouseEventStore {self.location.describe()}>"

    def ensure_schema(self, cluster: str | None = None) -> None:
        database = self.location.database
        statements = cluster_ddl(database, cluster) if cluster else single_node_ddl(database)
        with self._lock:
            for statement in statements:
                self._call(self._client.command, statement)
            self._schema_ready = True

    def insert(self, rows: Sequence[StoredEvent]) -> InsertOutcome:
        return self.insert_columns(EventColumns.from_rows(rows))

    def insert_columns(self, columns: EventColumns) -> InsertOutcome:
        total = columns.size
        if not total:
            return InsertOutcome(0, 0)
        with self._lock:
            self._ready()
            fresh = self._ids.new_positions(columns.environment_key, columns.event_id)
            if len(fresh) < total:
                columns = columns.take(fresh)
            if fresh:
                self._write(columns)
        return InsertOutcome(accepted=len(fresh), duplicates=total - len(fresh))

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        self._ready()
        bound = bind_params(sql, params)
        if may_write(sql):
            with self._lock:
                self._ids.forget()
                result = self._call(self._client.query, sql, parameters=bound)
        else:
            result = self._call(self._client.query, sql, parameters=bound)
        return QueryResult(columns=result.column_names, rows=result.result_rows)

    def close(self) -> None:
        with self._lock:
            self._client.close()

    def _ready(self) -> None:
        if not self._schema_ready:
            self.ensure_schema()

    def _write(self, columns: EventColumns) -> None:
        table = arrow_batch.to_arrow(columns)
        settings: dict[str, Any] = {
            **INSERT_SETTINGS,
            "max_partitions_per_insert_block": max(
                DEFAULT_MAX_PARTITIONS_PER_INSERT, arrow_batch.distinct_days(table)
            ),
        }
        if not self.location.embedded:
            settings["insert_deduplication_token"] = batch_token(columns, time.time())
        self._call(self._client.insert_arrow, TABLE, table, settings=settings)

    def _stream_keys(self, sql: str, params: Mapping[str, Any]) -> Iterator[bytes]:
        try:
            with self._client.query_column_block_stream(sql, parameters=params) as blocks:
                for block in blocks:
                    yield from block[0]
        except ClickHouseError as exc:
            raise EventStoreError(str(exc)) from exc

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except ClickHouseError as exc:
            raise EventStoreError(str(exc)) from exc


def may_write(sql: str) -> bool:
    """False for statements that certainly only read (so the id filters stay valid)."""
    return READ_STATEMENT.match(sql) is None


def batch_token(columns: EventColumns, now: float) -> str:
    """The same events in the same minute give the same token.

    Two service processes that both pass the duplicate check for one retried batch then
    send the same token, and the server keeps one of the two inserts. The minute keeps
    the token from outliving that race: events deleted and imported again later must
    not be dropped as a repeat of their first insert.
    """
    joined = b"".join(
        key.encode() + event_id
        for key, event_id in zip(columns.environment_key, columns.event_id, strict=True)
    )
    return f"{hashlib.sha256(joined).hexdigest()}:{int(now // 60)}"


def bind_params(sql: str, params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Values for server-side binding only; datetimes keep their milliseconds.

    clickhouse-connect formats values into the SQL text itself when it finds no
    ``{name:Type}`` placeholder; that is refused here, so a value never becomes SQL.
    """
    if not params:
        return None
    if not PLACEHOLDER.search(sql):
        raise EventStoreError("query parameters given, but the SQL has no {name:Type} placeholder")
    return {name: _bindable(value) for name, value in params.items()}


def _bindable(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise EventStoreError("datetime parameters must be timezone-aware")
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, (list, tuple)):
        return type(value)(_bindable(item) for item in value)
    return value
