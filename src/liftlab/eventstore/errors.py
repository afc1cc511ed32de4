"""The one exception the event store raises, so callers never import clickhouse-connect.

An ``EventStoreError`` carries two texts: its message (``str(exc)``), with the engine's own
words, paths and URLs, for logs and for the operator at a terminal; and ``reason``, what is
wrong in general words, which is all a remote client (an SDK, a results reader) is told.
"""

from __future__ import annotations

import errno
import re

UNAVAILABLE = "The event store is unavailable."
FULL = "The event store is out of disk space."
READ_ONLY = "The event store cannot write to its disk (read-only or not permitted)."
MISSING = "The event store is unavailable: its data folder is missing or was replaced."

# How ClickHouse and the OS spell the conditions a client is told about. Codes: 243
# NOT_ENOUGH_SPACE, 242 TABLE_IS_READ_ONLY, 164 READONLY (a read-only user or setting).
_FULL = re.compile(
    r"No space left on device|NOT_ENOUGH_SPACE|Code: 243\b|Disk quota exceeded", re.I
)
_READ_ONLY = re.compile(
    r"Read-only file system|Permission denied|Operation not permitted|TABLE_IS_READ_ONLY"
    r"|Code: 242\b|Code: 164\b",
    re.I,
)
_ERRNO_REASONS = {
    errno.ENOSPC: FULL,
    errno.EDQUOT: FULL,
    errno.EROFS: READ_ONLY,
    errno.EACCES: READ_ONLY,
    errno.EPERM: READ_ONLY,
}


class EventStoreError(Exception):
    """The store is misconfigured, unreachable, or refused a statement (message says which).

    ``reason`` says it without paths or engine internals (one of this module's constants).
    """

    def __init__(self, message: str, reason: str = UNAVAILABLE) -> None:
        super().__init__(message)
        self.reason = reason


def reason_for(exc: BaseException) -> str:
    """The general words for a failure of the engine, the server or the file system."""
    if isinstance(exc, EventStoreError):
        return exc.reason
    if isinstance(exc, OSError) and exc.errno in _ERRNO_REASONS:
        return _ERRNO_REASONS[exc.errno]
    text = str(exc)
    if _FULL.search(text):
        return FULL
    if _READ_ONLY.search(text):
        return READ_ONLY
    return UNAVAILABLE
