"""From the former layout (a partition per day) to the current one (a partition per month).

ClickHouse cannot change a table's partition key in place, so the events are copied:

1. drop any ``events_migrating`` left by an interrupted run (a partial copy, or the old
   table of a run that stopped right after its swap: either way ``events`` is whole);
2. create ``events_migrating`` in the current layout and copy ``events`` into it one month at
   a time (``INSERT … SELECT``: the engine streams it, nothing passes through Python);
3. compare the counts; on a mismatch drop the copy and leave ``events`` as it was;
4. ``EXCHANGE TABLES events AND events_migrating`` (atomic), then drop the old table.

Nothing may write to ``events`` meanwhile: embedded chDB guarantees it (the command holds
the folder); on a server, stop the ``liftlab serve`` processes first. Events keep their ids,
so the duplicate check is unchanged; the disk briefly holds the events twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from liftlab.eventstore.errors import EventStoreError
from liftlab.eventstore.schema import (
    INSERT_SETTINGS,
    MIGRATION_TABLE,
    TABLE,
    quote_identifier,
    single_node_ddl,
)

logger = logging.getLogger(__name__)

Command = Callable[[str], None]
Rows = Callable[[str, Mapping[str, Any] | None], Sequence[tuple]]


def migrate_to_months(command: Command, rows: Rows, database: str) -> int:
    """Copy ``events`` (by day) into a table by month and swap them; the events moved."""
    db = quote_identifier(database)
    old, new = f"{db}.{TABLE}", f"{db}.{MIGRATION_TABLE}"
    command(f"DROP TABLE IF EXISTS {new} SYNC")
    for statement in single_node_ddl(database, MIGRATION_TABLE)[1:]:
        command(statement)
    months = [month for (month,) in rows(f"SELECT DISTINCT toYYYYMM(timestamp) FROM {old}", None)]
    settings = ", ".join(f"{key} = {value}" for key, value in INSERT_SETTINGS.items())
    for month in sorted(months):
        command(
            f"INSERT INTO {new} SELECT * FROM {old} WHERE toYYYYMM(timestamp) = {int(month)} "
            f"SETTINGS {settings}"
        )
    (copied,), (stored,) = (rows(f"SELECT count() FROM {table}", None)[0] for table in (new, old))
    if copied != stored:
        command(f"DROP TABLE IF EXISTS {new} SYNC")
        raise EventStoreError(
            f"migration copied {copied} of {stored} events; {old} is unchanged (was something "
            "writing to it?)"
        )
    command(f"EXCHANGE TABLES {old} AND {new}")
    command(f"DROP TABLE {new} SYNC")
    logger.info(
        "events table migrated to monthly partitions: %d events in %d months", stored, len(months)
    )
    return stored
