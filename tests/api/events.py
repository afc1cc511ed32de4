"""Events for results tests, written straight into the configured event store."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings

from liftlab.eventstore import StoredEvent, open_store

EXPOSURE = "$flag_exposure"


def event(
    environment_key: str,
    name: str,
    identifier: str,
    at: datetime,
    *,
    value: str = "",
    feature_name: str = "",
    properties: dict | None = None,
) -> StoredEvent:
    return StoredEvent(
        environment_key=environment_key,
        event=name,
        feature_name=feature_name,
        identifier=identifier,
        value=value,
        timestamp=at,
        collected_at=datetime.now(UTC),
        traits="{}",
        metadata=json.dumps(properties or {}),
        sdk_language="",
        sdk_version="",
        event_id=uuid.uuid4(),
    )


def exposure(environment_key: str, flag: str, identifier: str, variant: str, at: datetime):
    return event(environment_key, EXPOSURE, identifier, at, value=variant, feature_name=flag)


def store_events(events: list[StoredEvent]) -> None:
    open_store(settings.EVENTSTORE_URL).insert(events)


def hours_ago(hours: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours)
