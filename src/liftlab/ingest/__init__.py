"""Turning request bodies and files into stored events: decode, validate, store (no Django).

events = decode_body(request_body, content_type, content_encoding)   # 400 / 413 errors
result = ingest(events, environment_key, open_store())               # per-event rejections
"""

from liftlab.ingest.body import decode_body
from liftlab.ingest.errors import BodyTooLargeError, IngestError, MalformedBodyError
from liftlab.ingest.limits import Limits
from liftlab.ingest.pipeline import IngestResult, ingest
from liftlab.ingest.validation import Rules

__all__ = [
    "BodyTooLargeError",
    "IngestError",
    "IngestResult",
    "Limits",
    "MalformedBodyError",
    "Rules",
    "decode_body",
    "ingest",
]
