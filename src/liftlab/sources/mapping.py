"""What the Segment and PostHog mappings share: ids, times and numbers in native form (no Django).

Each mapping turns one message into a native event dict and leaves every judgement (a
missing identifier, a bad timestamp, an oversized property) to ``liftlab.ingest``, so a
message from an SDK is accepted or refused for the same reasons as a native event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from liftlab.vocabulary import EXPOSURE_EVENT

# Non-UUID message ids (Segment's own SDKs send UUIDs, others need not) become this
# namespace's uuid5, so a retried message keeps its id and is stored once.
MESSAGE_ID_NAMESPACE = uuid.UUID("6f1c3b0e-5a52-4c0e-9d55-3f3b1f0d7a11")

# A device clock off by no more than this is left alone (see ``skew_corrected``).
CLOCK_TOLERANCE = timedelta(seconds=10)


class ShapeError(ValueError):
    """The body is JSON but not the shape the source's API takes (the message names it)."""


def event_id_of(message_id: Any, source: str) -> str | None:
    """The message's id as a UUID: itself when it is one, else a deterministic uuid5."""
    if message_id is None or message_id == "":
        return None
    text = str(message_id)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, f"{source}:{text}"))


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 instant (no offset: UTC), or None when it is absent or not one."""
    if type(value) is not str:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def skew_corrected(timestamp: Any, sent_at: Any, received_at: datetime) -> Any:
    """``timestamp + (receivedAt − sentAt)``: the device's clock error taken out, as Segment
    documents it, when that error is more than ``CLOCK_TOLERANCE``.

    Within it the difference is mostly the request's time in flight, which differs from one
    batch to the next: correcting by it would move a device's purchase, sent in the batch
    after its exposure, before that exposure (and out of the experiment's metrics), while a
    clock right to a few seconds needs no correction. Left as sent when it cannot be read
    (ingest then refuses it, naming the field) or there is no ``sentAt`` to measure by.
    """
    moment, sent = parse_time(timestamp), parse_time(sent_at)
    if moment is None or sent is None:
        return timestamp
    error = received_at - sent
    if abs(error) <= CLOCK_TOLERANCE:
        return timestamp
    return (moment + error).isoformat()


def number(value: Any) -> int | float | None:
    """A metric's number: ints and floats only (bools are not numbers here)."""
    return value if type(value) in (int, float) else None


def exposure(flag: Any, variant: Any, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` as an exposure of ``flag`` to ``variant``."""
    return {**base, "event": EXPOSURE_EVENT, "feature_name": flag, "value": variant}


def native(event: dict[str, Any]) -> dict[str, Any]:
    """The event without its absent fields (ingest reads a missing field as its default)."""
    return {name: value for name, value in event.items() if value is not None}


def as_object(value: Any) -> dict | None:
    """An object field, or None: a non-object is dropped rather than refusing the event."""
    return value if isinstance(value, dict) else None
