"""Segment's tracking API messages (``track``, ``page``, ``identify``…) as native events.

userId (else anonymousId) is the identifier, messageId the event id, ``properties`` the
properties, ``traits`` (or ``context.traits``) the traits, ``context.library`` the SDK. A
``$flag_exposure`` track (``feature_name``/``value`` properties) and Segment's "Experiment
Viewed" spec event (``experiment_id``/``variation_id``, else their names) are exposures.
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
from liftlab.vocabulary import EXPOSURE_EVENT

EXPERIMENT_VIEWED = "Experiment Viewed"
# page and screen have no event name of their own; they are stored under these.
VIEW_EVENTS = {"page": "$page", "screen": "$screen"}
# Accepted and answered as success, stored nowhere: they describe people, not behaviour.
IGNORED_TYPES = frozenset({"identify", "group", "alias"})


def batch_messages(body: Any, path_type: str) -> tuple[list[Any], Any]:
    """The messages of a request body and its ``sentAt``: ``/v1/batch`` carries a list under
    ``batch``; the single-message endpoints carry one message whose type is the path's.

    A batch's own ``context`` (the library, traits, …) is every message's, under what the
    message says itself, as Segment's batch API applies it. A body of another shape is a
    ShapeError naming what is wrong.
    """
    if not isinstance(body, dict):
        raise ShapeError('body must be a JSON object (a Segment message or {"batch": [...]})')
    if path_type == "batch":
        messages = body.get("batch")
        if not isinstance(messages, list):
            raise ShapeError("batch: must be an array of messages")
        shared = as_object(body.get("context"))
        if shared:
            messages = [_with_context(message, shared) for message in messages]
        return messages, body.get("sentAt")
    return [{**body, "type": path_type}], body.get("sentAt")


def _with_context(message: Any, shared: dict[str, Any]) -> Any:
    if not isinstance(message, dict):
        return message
    return {**message, "context": {**shared, **(as_object(message.get("context")) or {})}}


def to_event(message: Any, sent_at: Any, received_at: datetime) -> dict[str, Any] | None:
    """The native event for one message; None for a type that stores nothing (identify).

    A message that is not an object is passed on as is, for ingest to refuse with a reason.
    """
    if not isinstance(message, dict):
        return message
    kind = message.get("type")
    kind = kind if isinstance(kind, str) else "track"  # a type that is no name: the default
    if kind in IGNORED_TYPES:
        return None
    context = as_object(message.get("context")) or {}
    library = as_object(context.get("library")) or {}
    properties = as_object(message.get("properties")) or {}
    event = {
        "event": VIEW_EVENTS.get(kind, message.get("event")),
        "identifier": _identifier(message),
        "timestamp": skew_corrected(
            message.get("timestamp"), message.get("sentAt", sent_at), received_at
        ),
        "properties": properties or None,
        "traits": as_object(message.get("traits")) or as_object(context.get("traits")),
        "event_id": event_id_of(message.get("messageId"), "segment"),
        "sdk_language": library.get("name"),
        "sdk_version": library.get("version"),
        "value": number(properties.get("value")),
    }
    if kind in VIEW_EVENTS and message.get("name") is not None:
        event["properties"] = {"name": message["name"], **properties}
    return native(_as_exposure(event, properties))


def _identifier(message: dict[str, Any]) -> Any:
    user = message.get("userId")
    chosen = user if user not in (None, "") else message.get("anonymousId")
    return str(chosen) if type(chosen) in (int, float) else chosen


def _as_exposure(event: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    if event["event"] == EXPOSURE_EVENT:
        return exposure(properties.get("feature_name"), properties.get("value"), event)
    if event["event"] == EXPERIMENT_VIEWED:
        flag = properties.get("experiment_id", properties.get("experiment_name"))
        variant = properties.get("variation_id", properties.get("variation_name"))
        return exposure(flag, variant, event)
    return event
