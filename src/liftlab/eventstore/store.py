"""The event store: the ``EventStore`` interface and its ClickHouse implementation.

One implementation serves both backends because clickhouse-connect drives embedded chDB and
a server through the same client; what differs is who else may write. chDB allows one process
per data folder, so the store is the only writer and screens ids with an in-memory filter;
on a server every id of a batch is looked up in the table. On chDB the store also checks that
its folder is still the one it opened (``liftlab.eventstore.guard``) before each statement and
before it reports an insert as done.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from liftlab.eventstore import arrow_batch
from liftlab.eventstore.dedup import FilteredStoredIdCheck, StoredIdCheck
from liftlab.eventstore.errors import EventStoreError, reason_for
from liftlab.eventstore.group import GroupCommit
from liftlab.eventstore.guard import FolderGuard, table_paths
from liftlab.eventstore.location import StoreLocation
from liftlab.eventstore.migration import migrate_to_months
from liftlab.eventstore.records import EventColumns, InsertOutcome, QueryResult, StoredEvent
from liftlab.eventstore.schema import (
    DEFAULT_MAX_PARTITIONS_PER_INSERT,
    INSERT_SETTINGS,
    LEGACY_PARTITION_KEY,
    LOCAL_TABLE,
    TABLE,
    cluster_ddl,
    single_node_ddl,
)

logger = logging.getLogger(__name__)
_T = TypeVar("_T")
# Connections one store opens at most (each concurrent statement takes one).
MAX_CONNECTIONS = 8

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

        A single-node table of the former layout (by day) is migrated to monthly partitions
        here, never on first use. With ``cluster``: replicated local tables on every node and
        a Distributed ``events``.
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
    """The ``events`` table in chDB or on a ClickHouse server, through clickhouse-connect.

    Concurrency: batches of the same environment(s) that arrive while one of them is being
    inserted share the next INSERT (group commit, ``liftlab.eventstore.group``); the
    duplicate check and the insert of a group hold a lock of its environment(s) only, so one
    environment's batch never waits behind another's, and each concurrent call takes a
    connection of its own (chDB serialises the calls of one connection). A statement that
    may write behind the store's back (an ALTER, a migration) waits for the inserts in
    flight and runs alone.
    """

    def __init__(self, location: StoreLocation) -> None:
        self.location = location
        self._pool = _ClientPool(location)
        self._gate = _Gate()
        self._environments = _EnvironmentLocks()
        self._groups = GroupCommit(self._insert_group)
        self._schema_lock = threading.Lock()
        self._schema_ready = False
        self._by_day = False  # the table still has the former (daily) partitions
        self._guard = FolderGuard() if location.embedded else None
        if location.embedded:
            self._ids = FilteredStoredIdCheck(self.query, self._stream_keys)
        else:
            self._ids = StoredIdCheck(self.query)

    def __repr__(self) -> str:
        return f"<ClickHouseEventStore {self.location.describe()}>"

    def ensure_schema(self, cluster: str | None = None) -> None:
        """Create the table if it is missing; a single-node table of the former layout (by
        day) is migrated to the current one, its events copied (docs/eventstore.md)."""
        with self._schema_lock, self._gate.exclusive():
            self._create(cluster)
            if not cluster and self._by_day:
                migrate_to_months(self._command, self._rows, self.location.database)
                self._ids.forget()
                self._inspect_table(cluster)

    @property
    def partitioned_by_day(self) -> bool:
        """Whether the table still has the former layout (one partition per day)."""
        self._ready()
        return self._by_day

    def insert(self, rows: Sequence[StoredEvent]) -> InsertOutcome:
        return self.insert_columns(EventColumns.from_rows(rows))

    def insert_columns(self, columns: EventColumns) -> InsertOutcome:
        if not columns.size:
            return InsertOutcome(0, 0)
        if sum(map(len, columns.event_id)) != 16 * columns.size:
            raise ValueError("every event_id must be 16 bytes")  # before it can join a group
        self._ready()
        columns = arrow_batch.with_arrow_texts(columns)
        return self._groups.insert(frozenset(columns.environment_key), columns)

    def _insert_group(self, columns: EventColumns) -> Sequence[int]:
        """Store the events whose ids are new; their positions (sorted), once on disk.

        Concurrent batches of the same environments arrive here concatenated
        (``liftlab.eventstore.group``), so one duplicate check and one INSERT serve them all.
        """
        total = columns.size
        with self._gate.shared(), self._environments.holding(set(columns.environment_key)):
            self._check_folder()
            fresh = self._ids.new_positions(columns.environment_key, columns.event_id)
            if len(fresh) < total:
                columns = columns.take(fresh)
            if fresh:
                self._write(columns)
                # Accepted means where a restart reads it: the folder must still be the one
                # the table was opened in (liftlab.eventstore.guard).
                self._check_folder()
        return fresh if len(fresh) < total else range(total)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        self._ready()
        bound = bind_params(sql, params)
        if may_write(sql):
            with self._gate.exclusive():
                self._check_folder()
                self._ids.forget()
                result = self._run(lambda client: client.query(sql, parameters=bound))
                self._inspect_table(None)  # an ALTER may have rewritten the metadata file
        else:
            self._check_folder()
            result = self._run(lambda client: client.query(sql, parameters=bound))
        return QueryResult(columns=result.column_names, rows=result.result_rows)

    def close(self) -> None:
        with self._gate.exclusive():
            self._pool.close()

    def _ready(self) -> None:
        if self._schema_ready:
            return
        with self._schema_lock:
            if not self._schema_ready:
                with self._gate.exclusive():
                    self._create(None)
                if self._by_day:
                    logger.warning(
                        "the events table %s is partitioned by day (the former layout): it "
                        "works, but a batch may write a part per day; stop the service and "
                        "run `liftlab eventstore init` to migrate it to monthly partitions",
                        self.location.describe(),
                    )

    def _create(self, cluster: str | None) -> None:
        database = self.location.database
        statements = cluster_ddl(database, cluster) if cluster else single_node_ddl(database)
        for statement in statements:
            self._command(statement)
        self._inspect_table(cluster)
        self._schema_ready = True

    def _inspect_table(self, cluster: str | None) -> None:
        """Read the table's layout, and (chDB) where its files are, for the folder guard."""
        table = LOCAL_TABLE if cluster else TABLE
        rows = self._rows(
            "SELECT partition_key, data_paths FROM system.tables "
            "WHERE database = {database:String} AND name = {table:String}",
            {"database": self.location.database, "table": table},
        )
        partition_key, data_paths = rows[0] if rows else ("", [])
        self._by_day = partition_key.replace(" ", "") == LEGACY_PARTITION_KEY
        if self._guard is not None:
            root = self.location.path
            self._guard.watch(table_paths(root, self.location.database, table, data_paths))

    def _check_folder(self) -> None:
        if self._guard is not None:
            self._guard.check()

    def _write(self, columns: EventColumns) -> None:
        table = arrow_batch.to_arrow(columns)
        partitions = arrow_batch.distinct_partitions(table.column("timestamp"), self._by_day)
        settings: dict[str, Any] = {
            **INSERT_SETTINGS,
            "max_partitions_per_insert_block": max(DEFAULT_MAX_PARTITIONS_PER_INSERT, partitions),
        }
        if not self.location.embedded:
            settings["insert_deduplication_token"] = batch_token(columns, time.time())
        self._run(lambda client: client.insert_arrow(TABLE, table, settings=settings))

    def _command(self, statement: str) -> None:
        self._run(lambda client: client.command(statement))

    def _rows(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[tuple]:
        return self._run(lambda client: client.query(sql, parameters=params)).result_rows

    def _stream_keys(self, sql: str, params: Mapping[str, Any]) -> Iterator[bytes]:
        with self._pool.client() as client:
            try:
                with client.query_column_block_stream(sql, parameters=params) as blocks:
                    for block in blocks:
                        yield from block[0]
            except (ClickHouseError, OSError) as exc:
                raise EventStoreError(str(exc), reason_for(exc)) from exc

    def _run(self, call: Callable[[Client], _T]) -> _T:
        """``call`` with a connection of its own; failures become EventStoreError.

        OSError too: the chDB backend writes an insert's data to a temporary file first, and
        a full or read-only disk fails there, outside the engine.
        """
        with self._pool.client() as client:
            try:
                return call(client)
            except (ClickHouseError, OSError) as exc:
                raise EventStoreError(str(exc), reason_for(exc)) from exc


class _ClientPool:
    """Connections to the store, one per concurrent call, made as concurrency needs them."""

    def __init__(self, location: StoreLocation, size: int = MAX_CONNECTIONS) -> None:
        self._location = location
        self._size = size
        self._idle: list[Client] = [location.connect()]
        self._made = 1
        self._closed = False
        self._changed = threading.Condition()

    @contextmanager
    def client(self) -> Iterator[Client]:
        with self._changed:
            while not self._idle and self._made >= self._size:
                self._changed.wait()
            if self._closed:
                raise EventStoreError("the event store was closed")
            client = self._idle.pop() if self._idle else None
            if client is None:
                self._made += 1
        if client is None:
            try:
                client = self._location.connect()
            except BaseException:
                with self._changed:
                    self._made -= 1
                    self._changed.notify()
                raise
        try:
            yield client
        finally:
            with self._changed:
                self._idle.append(client)
                self._changed.notify()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            for client in self._idle:
                client.close()
            self._idle.clear()


class _Gate:
    """Shared for inserts (any number at once), exclusive for statements that may write
    behind the store's back. A waiting exclusive holder keeps new shared ones out."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.RLock())
        self._shared = 0
        self._owner: int | None = None
        self._depth = 0
        self._waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._changed:
            if self._owner != me:
                while self._owner is not None or self._waiting:
                    self._changed.wait()
            self._shared += 1
        try:
            yield
        finally:
            with self._changed:
                self._shared -= 1
                self._changed.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._changed:
            if self._owner != me:
                self._waiting += 1
                try:
                    while self._owner is not None or self._shared:
                        self._changed.wait()
                finally:
                    self._waiting -= 1
                self._owner = me
            self._depth += 1
        try:
            yield
        finally:
            with self._changed:
                self._depth -= 1
                if not self._depth:
                    self._owner = None
                self._changed.notify_all()


class _EnvironmentLocks:
    """One lock per environment key: the duplicate check and the insert of its batches."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._making = threading.Lock()

    @contextmanager
    def holding(self, keys: set[str]) -> Iterator[None]:
        with self._making:
            locks = [self._locks.setdefault(key, threading.Lock()) for key in sorted(keys)]
        with ExitStack() as stack:  # in key order, so two multi-environment batches never deadlock
            for lock in locks:
                stack.enter_context(lock)
            yield


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
