"""Where the events live, read from a URL, and the clickhouse-connect client that reaches them.

- ``chdb:///abs/path``: the embedded engine, data in that folder (database ``default``);
- ``clickhouse://user:password@host:8123/database``: a server over HTTP;
- ``clickhouses://…``: the same over TLS (default port 8443).

Both kinds are driven through clickhouse-connect, which has an in-process chDB backend, so
the SQL text, the parameter binding and the Python types of results are the same everywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from liftlab.eventstore.errors import EventStoreError, reason_for

SERVER_SCHEMES = {"clickhouse": ("http", 8123), "clickhouses": ("https", 8443)}


@dataclass(frozen=True)
class StoreLocation:
    """A parsed event-store URL. ``path`` is set for chDB, ``host`` for a server."""

    scheme: str
    database: str
    path: str = ""
    host: str = ""
    port: int = 0
    username: str = "default"
    password: str = ""

    @property
    def embedded(self) -> bool:
        """True for chDB: one process owns the data folder, so it is the only writer."""
        return self.scheme == "chdb"

    def describe(self) -> str:
        """The URL without its password, for messages and logs."""
        if self.embedded:
            return f"chdb://{self.path}"
        return f"{self.scheme}://{self.username}@{self.host}:{self.port}/{self.database}"

    def connect(self) -> Client:
        """A clickhouse-connect client; datetimes come back as aware UTC values."""
        try:
            if self.embedded:
                return clickhouse_connect.get_client(
                    interface="chdb", path=self.path, database=self.database, tz_mode="aware"
                )
            interface, _ = SERVER_SCHEMES[self.scheme]
            # No session: a session serialises a client's queries on the server side.
            return clickhouse_connect.get_client(
                interface=interface,
                tz_mode="aware",
                autogenerate_session_id=False,
                host=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                database=self.database,
            )
        except Exception as exc:
            hint = (
                " (is another process, such as liftlab serve, using it?)" if self.embedded else ""
            )
            raise EventStoreError(
                f"cannot open the event store {self.describe()}{hint}: {exc}", reason_for(exc)
            ) from exc


def parse_url(url: str) -> StoreLocation:
    """Read an event-store URL; raise EventStoreError naming what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        return _chdb_location(parts.netloc, parts.path, url)
    if parts.scheme in SERVER_SCHEMES:
        return _server_location(parts)
    raise EventStoreError(
        f"unsupported event-store URL {url!r}: use chdb:///abs/path, "
        "clickhouse://user:password@host:8123/database or clickhouses://…"
    )


def _chdb_location(netloc: str, path: str, url: str) -> StoreLocation:
    if netloc or not path.startswith("/"):
        raise EventStoreError(f"chDB URL {url!r} must name an absolute folder: chdb:///abs/path")
    return StoreLocation(scheme="chdb", database="default", path=os.path.realpath(unquote(path)))


def _server_location(parts) -> StoreLocation:
    if not parts.hostname:
        raise EventStoreError(f"ClickHouse URL for scheme {parts.scheme!r} must name a host")
    database = unquote(parts.path.strip("/")) or "default"
    if "/" in database:
        raise EventStoreError(f"ClickHouse URL path must be one database name, got {database!r}")
    return StoreLocation(
        scheme=parts.scheme,
        database=database,
        host=parts.hostname,
        port=parts.port or SERVER_SCHEMES[parts.scheme][1],
        username=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
    )
