"""Building stored events for tests, with only the fields a test cares about spelled out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from liftlab.eventstore import StoredEvent

BASE_TIME = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)


def event(environment_key: str, **fields: Any) -> StoredEvent:
    """A plausible purchase event; keyword arguments replace any column."""
    values: dict[str, Any] = {
        "environment_key": environment_key,
        "event": "purchase",
        "feature_name": "",
        "identifier": "user-1",
        "value": "9.99",
        "timestamp": BASE_TIME,
        "collected_at": BASE_TIME + timedelta(seconds=1),
        "traits": '{"plan": "pro"}',
        "metadata": '{"amount": 9.99}',
        "sdk_language": "python",
        "sdk_version": "1.0.0",
        "event_id": uuid.uuid4(),
    }
    values.update(fields)
    return StoredEvent(**values)


def events(environment_key: str, count: int, **fields: Any) -> list[StoredEvent]:
    """``count`` events of distinct identities, one millisecond apart."""
    return [
        event(
            environment_key,
            identifier=f"user-{i}",
            timestamp=BASE_TIME + timedelta(milliseconds=i),
            **fields,
        )
        for i in range(count)
    ]


def count(store, environment_key: str) -> int:
    """How many rows the environment has."""
    sql = "SELECT count() FROM events WHERE environment_key = {env:String}"
    return store.query(sql, {"env": environment_key}).rows[0][0]
