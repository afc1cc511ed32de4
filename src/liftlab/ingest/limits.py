"""How much one request may carry, and how long each field may be.

The body limits can be changed with ``INGEST_MAX_BODY_BYTES``, ``INGEST_MAX_EVENTS`` and
``INGEST_MAX_MONTHS``; the field limits are part of the API contract (docs/eventstore.md,
"Ingestion").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 10 * 1024 * 1024  # compressed and decompressed alike
    max_events: int = 50_000
    # Calendar months (UTC) one request's events may fall in: each is a partition, so a part
    # written and fsynced per insert (docs/eventstore.md, "Partitions").
    max_months: int = 12
    name_chars: int = 200  # event, feature_name, sdk_language, sdk_version
    identifier_chars: int = 400
    value_chars: int = 1000
    object_bytes: int = 64 * 1024  # properties and traits, as UTF-8 JSON text
    future: timedelta = timedelta(hours=24)

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, with the body limits read from the environment when set."""
        return cls(
            max_body_bytes=int(os.environ.get("INGEST_MAX_BODY_BYTES", cls.max_body_bytes)),
            max_events=int(os.environ.get("INGEST_MAX_EVENTS", cls.max_events)),
            max_months=max(1, int(os.environ.get("INGEST_MAX_MONTHS", cls.max_months))),
        )
