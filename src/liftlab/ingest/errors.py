"""Why a whole request body is refused (an event-level problem is a rejection, not an error)."""

from __future__ import annotations


class IngestError(Exception):
    """A body that cannot be ingested at all; nothing of it is stored."""


class MalformedBodyError(IngestError):
    """Not gzip, not JSON, not NDJSON, or not a list of events (HTTP 400)."""


class BodyTooLargeError(IngestError):
    """More bytes or more events than the limits allow (HTTP 413)."""


class TooManyMonthsError(MalformedBodyError):
    """A request's events fall in more calendar months than ``Limits.max_months`` (HTTP 400)."""
