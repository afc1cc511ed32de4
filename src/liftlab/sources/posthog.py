"""PostHog capture API events (``/batch/``, ``/capture/``, ``/e/``) as native events.

distinct_id is the identifier, uuid the event id, ``properties`` the properties (``$set``
also the traits), ``$lib``/``$lib_version`` the SDK. ``$feature_flag_called`` with
``$feature_flag`` and ``$feature_flag_response`` is an exposure of that flag and variant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from liftlab.sources.mapping import (
    ShapeError,
    as_object,
    event_id_of,
    exposure,
    native,
    number,
    skew_corrected,
)

FEATURE_FLAG_CALLED = "$feature_flag_called"
# Accepted and stored nowhere, as Segment's identify: they describe people, not behaviour.
IGNORED_EVENTS = frozenset({"$identify", "$create_alias", "$groupidentify", "$set"})
KEY_FIELDS = ("api_key", "token")


def batch_events(body: Any) -> tuple[list[Any], Any]:
    """The events of a body and its ``sent_at``: ``{"batch": [...]}``, a list, or one event.

    A body of another shape is a ShapeError naming what is wrong.
    """
    if isinstance(body, list):
        return body, None
    if not isinstance(body, dict):
        raise ShapeError('body must be a JSON object (an event or {"batch": [...]}) or an array')
    if "batch" in body:
        if not isinstance(body["batch"], list):
            raise ShapeError("batch: must be an array of events")
        return body["batch"], body.get("sent_at")
    return [body], body.get("sent_at")


def project_key(body: Any) -> str | None:
    """The key the body names: ``api_key`` (or ``token``) on the body, else on its first event
    or in that event's properties, where posthog-js puts it."""
    first = body[0] if isinstance(body, list) and body else body
    if isinstance(body, dict) and isinstance(body.get("batch"), list) and body["batch"]:
        first = body["batch"][0]
    for holder in (
        body,
        first,
        as_object(first.get("properties")) if isinstance(first, dict) else None,
    ):
        if isinstance(holder, dict):
            for name in KEY_FIELDS:
                if isinstance(holder.get(name), str):
                    return holder[name]
    return None


def to_event(message: Any, sent_at: Any, received_at: datetime) -> Any:
    """The native event for one PostHog event; None for one that stores nothing
    (``$identify``…); a non-object is passed on for ingest to refuse."""
    if not isinstance(message, dict):
        return message
    name = message.get("event")
    if isinstance(name, str) and name in IGNORED_EVENTS:
        return None
    properties = as_object(message.get("properties")) or {}
    # posthog-js carries the project key in the properties: a secret, never stored.
    properties = {name: value for name, value in properties.items() if name not in KEY_FIELDS}
    identifier = message.get("distinct_id", properties.get("distinct_id"))
    event = {
        "event": message.get("event"),
        "identifier": str(identifier) if type(identifier) in (int, float) else identifier,
        "timestamp": skew_corrected(message.get("timestamp"), sent_at, received_at),
        "properties": properties or None,
        "traits": as_object(properties.get("$set")) or as_object(message.get("$set")),
        "event_id": event_id_of(message.get("uuid"), "posthog"),
        "sdk_language": properties.get("$lib"),
        "sdk_version": properties.get("$lib_version"),
        "value": number(properties.get("value")),
    }
    if event["event"] == FEATURE_FLAG_CALLED:
        flag, variant = properties.get("$feature_flag"), properties.get("$feature_flag_response")
        event = exposure(flag, variant if type(variant) is str else _flag_value(variant), event)
    return native(event)


def _flag_value(response: Any) -> Any:
    """A boolean flag's response as the variant names "true" and "false"."""
    return str(response).lower() if type(response) is bool else response
