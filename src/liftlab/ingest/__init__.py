"""Turning request bodies and files into stored events: decode, validate, store (no Django).

slices = decode_slices(request_body, content_type, content_encoding)  # 400 / 413 errors
result = ingest_slices(slices, environment_key, open_store())         # per-event rejections
events = decode_body(request_body)   # all at once (small bodies, tests); ingest(events, …)
"""

from liftlab.ingest.body import decode_body, decode_slices
from liftlab.ingest.errors import (
    BodyTooLargeError,
    IngestError,
    MalformedBodyError,
    TooManyMonthsError,
)
from liftlab.ingest.limits import Limits
from liftlab.ingest.pipeline import IngestResult, ingest, ingest_slices
from liftlab.ingest.validation import Rules

__all__ = [
    "BodyTooLargeError",
    "IngestError",
    "IngestResult",
    "Limits",
    "MalformedBodyError",
    "Rules",
    "TooManyMonthsError",
    "decode_body",
    "decode_slices",
    "ingest",
    "ingest_slices",
]
