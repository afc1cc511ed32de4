"""Loaded by each ``st run`` (SCHEMATHESIS_HOOKS): what schemathesis cannot send by itself."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(context: Any, value: Any) -> bytes:
    """The events endpoint's NDJSON: one JSON value per line (a list is several events)."""
    items = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)
