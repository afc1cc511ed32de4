"""The rules for one field of a raw event (a decoded JSON object): its stored value, or the
reason the event is rejected. ``liftlab.ingest.columns`` applies them to whole batches.

Plain Python rather than pydantic: measured on the same events, pydantic's parse and type
checks alone cost as much as ``json.loads`` plus every rule here (≈8.5 µs per event, most of
it UUID parsing and re-encoding properties and traits), and pydantic refuses a list whole on
its first bad event (docs/eventstore.md, "Ingestion rules"). Unknown keys are rejected, not
ignored: a misspelt "propertes" would otherwise silently drop the data a metric filters on.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from liftlab.ingest.limits import Limits
from liftlab.vocabulary import EXPOSURE_EVENT

FIELDS = frozenset(
    {
        "event",
        "identifier",
        "timestamp",
        "value",
        "feature_name",
        "properties",
        "traits",
        "event_id",
        "sdk_language",
        "sdk_version",
    }
)
# Fields a metric or an experiment matches on: NUL is refused there (as in the definitions
# and experiments, which PostgreSQL could not store otherwise), so an event with one could
# never be counted. Property keys are checked in ``object_json``.
NO_NUL = frozenset({"event", "identifier", "feature_name", "value"})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Earlier times are refused: epoch *seconds* sent as milliseconds land in January 1970.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# Subtracting a prepared timedelta drops sub-millisecond digits 8x faster than .replace().
_SUB_MILLISECOND = tuple(timedelta(microseconds=us) for us in range(1000))


def _unserialisable(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not a JSON value")


# json.dumps builds a C encoder on every call; this one is built once (2.3 -> 1.1 µs for a
# small object). Arguments: markers, default, encoder, indent, key and item separators,
# sort_keys, skipkeys, allow_nan.
_encode = json.encoder.c_make_encoder(
    None, _unserialisable, json.encoder.encode_basestring, None, ":", ",", False, False, False
)


def _dumps(value: dict) -> str:
    """Compact JSON text, non-ASCII kept as is, NaN and Infinity refused."""
    return "".join(_encode(value, 0))


class Rejected(Exception):
    """The event at hand is refused; the message is the reason given back to the sender."""


class Unreadable(NamedTuple):
    """A record a file reader could not even decode; it is rejected with this reason."""

    reason: str


@dataclass(frozen=True)
class Rules:
    """What an environment accepts: which events are exposures, and the field limits."""

    exposure_events: frozenset[str] = frozenset({EXPOSURE_EVENT})
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def for_exposures(cls, names: Collection[str] = (), limits: Limits | None = None) -> Rules:
        """``$flag_exposure`` is always an exposure; ``names`` adds experiments' own."""
        return cls(frozenset({EXPOSURE_EVENT, *names}), limits or Limits())


def optional_text(value: Any, name: str, limit: int) -> str:
    """An optional string field ("" when absent)."""
    if value is None:
        return ""
    if type(value) is not str:
        raise Rejected(f"{name} must be a string")
    if len(value) > limit:
        raise Rejected(f"{name} is longer than {limit} characters")
    if not value.isascii():
        _utf8(value, name)
    if "\x00" in value and name in NO_NUL:
        raise Rejected(f"{name} contains a NUL character (\\u0000)")
    return value


def required_text(value: Any, name: str, limit: int) -> str:
    text = optional_text(value, name, limit)
    if not text.strip():
        raise Rejected(f"{name} is missing or empty")
    return text


def _utf8(text: str, name: str) -> bytes:
    """The UTF-8 bytes; JSON can smuggle in unpaired surrogates, which no column can hold."""
    try:
        return text.encode()
    except UnicodeEncodeError as exc:
        surrogate = ord(exc.object[exc.start])
        raise Rejected(f"{name} contains an unpaired surrogate (\\u{surrogate:04x})") from None


def value_text(value: Any, limit: int) -> str:
    """A number or a string, stored as text ("" when absent)."""
    kind = type(value)
    if kind is str or value is None:
        return optional_text(value, "value", limit)
    if kind is int:
        return str(value)
    if kind is float:
        if not math.isfinite(value):
            raise Rejected("value is not a finite number")
        return repr(value)
    raise Rejected("value must be a number or a string")


def timestamp_of(value: Any, collected_at: datetime, latest: datetime) -> datetime:
    """ISO-8601 text (no offset means UTC) or epoch milliseconds; absent means now."""
    if value is None:
        return collected_at
    kind = type(value)
    if kind is str:
        moment = _iso(value)
    elif kind is int or kind is float:
        moment = _epoch_ms(value)
    elif kind is datetime:  # from a Parquet file
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        raise Rejected("timestamp must be ISO-8601 text or epoch milliseconds")
    moment -= _SUB_MILLISECOND[moment.microsecond % 1000]
    if moment > latest:
        raise Rejected("timestamp is more than 24 hours in the future")
    if moment < EARLIEST:
        raise Rejected("timestamp is before 2000-01-01 (epoch seconds instead of milliseconds?)")
    return moment


def _iso(text: str) -> datetime:
    """The time a text names, in UTC; without an offset it is UTC already."""
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Rejected(f"timestamp {text[:40]!r} is not an ISO-8601 time") from None


def _epoch_ms(number: float) -> datetime:
    try:
        return EPOCH + timedelta(0, 0, 0, int(number))  # (days, seconds, µs, ms)
    except (ValueError, OverflowError):
        raise Rejected("timestamp is not a plausible number of epoch milliseconds") from None


def object_json(value: Any, name: str, limit: int) -> str:
    """A JSON object as compact text ("{}" when absent or empty)."""
    if value is None:
        return "{}"
    if type(value) is not dict:
        raise Rejected(f"{name} must be a JSON object")
    if not value:
        return "{}"
    try:
        text = _dumps(value)
    except (ValueError, TypeError) as exc:
        raise Rejected(f"{name} cannot be stored as JSON: {exc}") from None
    except RecursionError:
        raise Rejected(f"{name} is nested too deeply") from None
    size = len(text) if text.isascii() else len(_utf8(text, name))
    if size > limit:
        raise Rejected(f"{name} is larger than {limit} bytes of JSON")
    if "." in text and _has_dotted_key(value):
        _check_paths(value, name)
    if name == "properties" and "\\u0000" in text and _has_nul_key(value):
        raise Rejected("properties has a key containing a NUL character (\\u0000)")
    return text


def _has_dotted_key(value: dict) -> bool:
    """Whether any object key, at any depth, contains a dot (cheap: no paths are built)."""
    pending: list[Any] = [value]
    while pending:
        node = pending.pop()
        if type(node) is dict:
            for key, item in node.items():
                if "." in key:
                    return True
                if type(item) is dict or type(item) is list:
                    pending.append(item)
        else:
            pending.extend(item for item in node if type(item) is dict or type(item) is list)
    return False


def _has_nul_key(value: dict) -> bool:
    """Whether any object key, at any depth, contains NUL (a metric could never name it)."""
    pending: list[Any] = [value]
    while pending:
        node = pending.pop()
        items = node.items() if type(node) is dict else enumerate(node)
        for key, item in items:
            if type(key) is str and "\x00" in key:
                return True
            if type(item) is dict or type(item) is list:
                pending.append(item)
    return False


def _check_paths(value: dict, name: str) -> None:
    """ClickHouse's JSON type reads {"a.b": 1} as {"a": {"b": 1}}; one path spelt both ways
    fails the whole insert, so such an event is refused here. Objects inside arrays are
    separate JSON documents with paths of their own."""
    documents = [value]
    while documents:
        paths: set[str] = set()
        pending = [("", documents.pop())]
        while pending:
            prefix, obj = pending.pop()
            for key, item in obj.items():
                path = prefix + key
                if type(item) is dict:
                    if item:
                        pending.append((path + ".", item))
                    continue
                if type(item) is list:
                    documents.extend(_objects_in(item))
                if path in paths:
                    raise Rejected(f"{name} has the path {path!r} twice (nested and dotted keys)")
                paths.add(path)


def _objects_in(items: list) -> list[dict]:
    """The objects in a JSON array, at any depth of nested arrays."""
    found: list[dict] = []
    pending = [items]
    while pending:
        for item in pending.pop():
            if type(item) is dict:
                found.append(item)
            elif type(item) is list:
                pending.append(item)
    return found


def event_id_of(value: Any) -> uuid.UUID:
    """The sender's UUID, or a random one when it sent none (then it cannot be retried)."""
    if value is None:
        return uuid.uuid4()
    if type(value) is not str:
        raise Rejected("event_id must be a UUID string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Rejected(f"event_id {value[:40]!r} is not a UUID") from None
