"""Ingest tests store through the same two backends as the event-store tests."""

from tests.eventstore.backends import http_server, store  # noqa: F401  (fixtures, by name)
