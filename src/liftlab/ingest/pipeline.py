"""``ingest``: raw events of one environment to stored rows, with per-event rejections.

Used by the HTTP API and by the file importer alike, so both accept and refuse the same
events for the same reasons. The environment comes from the caller (the API key or the
``--environment`` option), never from an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from liftlab.eventstore import EventStore
from liftlab.ingest.columns import to_event_columns
from liftlab.ingest.validation import Rules


class IngestResult(NamedTuple):
    """Stored, skipped as already stored, and refused (``{"index", "error"}`` each)."""

    accepted: int
    duplicates: int
    rejected: list[dict[str, Any]]


def ingest(
    events: Sequence[Any],
    environment_key: str,
    store: EventStore,
    *,
    rules: Rules | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Validate, then store what is valid; rejected events do not stop the others."""
    collected_at = now_ms(now)
    columns, rejected = to_event_columns(events, environment_key, collected_at, rules or Rules())
    outcome = store.insert_columns(columns)
    return IngestResult(outcome.accepted, outcome.duplicates, rejected)


def now_ms(now: datetime | None = None) -> datetime:
    """The collection time, in UTC and to the millisecond as the table stores it."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
