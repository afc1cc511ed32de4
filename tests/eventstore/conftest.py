"""Event-store tests run on both backends (see backends.py)."""

from tests.eventstore.backends import http_server, store  # noqa: F401  (fixtures, by name)
