"""A well-formed JSON array of events, decoded and type-checked in one C pass (msgspec).

Why: parsing 5,000 events into dicts (orjson) and then checking each field's type and
presence over the dicts cost about as much Python time again as the rest of the rules. Here
msgspec reads the body straight into ``TypedEvent`` structs: every key is a known field,
every field has a type the rules can store, and a missing field is None (what
``dict.get`` gave), so ``liftlab.ingest.columns`` can skip those checks and read each
column as one C-level attribute map.

Exact by construction: the typed pass only ever *accepts* what ``liftlab.ingest.body``
would have parsed into the same values (msgspec and orjson both read the last of repeated
keys, both round floats correctly, and msgspec reads integers beyond 64 bits exactly, as
``body.loads`` does by falling back on ``json``). Whatever it does not accept — an
unknown field, a value of another type, a body that is not an array (or ``{"events":
[...]}``) of objects, malformed JSON, NaN, a number out of range, bad UTF-8 — makes
``typed_events`` answer None, and the body takes the dict path, which names the field and
the reason exactly as before. Values are still checked by the rules (lengths, blank or NUL
texts, times, ids, properties): the types are all this pass proves.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from liftlab.ingest.validation import FIELDS

_LEADING_SPACE = re.compile(rb"[ \t\n\r]*")


class TypedEvent(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One event whose fields have the types the rules take; None where it sent none.

    ``gc=False``: the values are JSON values, which cannot form reference cycles, so the
    collector need not track thousands of structs per request.
    """

    event: str | None = None
    identifier: str | None = None
    timestamp: str | int | float | None = None
    value: str | int | float | None = None
    feature_name: str | None = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    event_id: str | None = None
    sdk_language: str | None = None
    sdk_version: str | None = None


class _Wrapped(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """``{"events": [...]}``, and nothing else beside it (as ``body`` accepts it)."""

    events: list[TypedEvent]


assert set(TypedEvent.__struct_fields__) == FIELDS, "TypedEvent must have the rules' fields"

_ARRAY = msgspec.json.Decoder(list[TypedEvent])
_WRAPPED = msgspec.json.Decoder(_Wrapped)


def typed_events(body: bytes) -> list[TypedEvent] | None:
    """The events of a JSON body whose every event has well-typed fields, else None."""
    start = _LEADING_SPACE.match(body).end()
    try:
        if body[start : start + 1] == b"{":
            return _WRAPPED.decode(body).events
        return _ARRAY.decode(body)
    except (msgspec.MsgspecError, ValueError, RecursionError):
        # Malformed, mistyped or unknown: the dict path says which, and where.
        return None
