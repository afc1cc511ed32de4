"""The one exception the event store raises, so callers never import clickhouse-connect."""

from __future__ import annotations


class EventStoreError(Exception):
    """The store is misconfigured, unreachable, or refused a statement (message says which)."""
