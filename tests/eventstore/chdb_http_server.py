"""ClickHouse's HTTP interface served from this process's embedded chDB engine (a test fixture).

No ClickHouse server can be installed here, so this small server lets the server backend
(clickhouse-connect over HTTP) run the very same tests as the embedded one. It implements
the part of the HTTP protocol clickhouse-connect uses:

- the statement from the ``query`` URL parameter, the POST body, or both (then the body is
  an INSERT's data, in the format its ``FORMAT`` clause names; or, for other statements,
  the rest of the statement text);
- ``param_<name>`` values for ``{name:Type}`` placeholders, handed to the engine unparsed,
  from the URL or, as clickhouse-connect sends large ones, from a multipart/form-data body;
- ``database``, and any other parameter as a setting (``SET name = 'value'``);
- ``Content-Encoding`` of the body (gzip, deflate, lz4, zstd); the answer is never compressed;
- answers in whatever format the statement's ``FORMAT`` clause asks for (clickhouse-connect
  asks for Native), with the ``X-ClickHouse-*`` headers it reads, and errors as
  ``X-ClickHouse-Exception-Code`` plus the engine's message.

Each request gets its own chDB connection (cheap, and settings stay per request); chDB
hosts one data folder per process, so the server must be given that folder's path.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import uuid
import zlib
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import chdb
import lz4.frame
from backports import zstd

TRANSPORT_PARAMS = {
    "query",
    "database",
    "default_format",
    "session_id",
    "session_timeout",
    "session_check",
    "query_id",
    "compress",
    "decompress",
    "enable_http_compression",
    "wait_end_of_query",
    "client_protocol_version",
    "buffer_size",
    "user",
    "password",
    "quota_key",
    "role",
    "send_progress_in_http_headers",
    "http_headers_progress_interval_ms",
}
DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "deflate": zlib.decompress,
    "lz4": lz4.frame.decompress,
    "zstd": zstd.decompress,
}
INSERT_WITH_FORMAT = re.compile(r"^\s*(INSERT\b.*?)\s+FORMAT\s+(\w+)\s*$", re.I | re.S)
ERROR_CODE = re.compile(r"Code:\s*(\d+)")


class _Request:
    """One HTTP request, read into what the engine needs."""

    def __init__(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        params = dict(parse_qsl(urlsplit(handler.path).query, keep_blank_values=True))
        encoding = handler.headers.get("Content-Encoding", "identity")
        self.body = DECODERS[encoding](body) if encoding in DECODERS else body
        content_type = handler.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            params.update(_form_fields(content_type, self.body))
            self.body = b""
        self.statement = params.get("query", "")
        self.database = params.get("database")
        self.default_format = params.get("default_format", "TabSeparated")
        self.bind = {k[len("param_") :]: v for k, v in params.items() if k.startswith("param_")}
        self.settings = {
            k: v
            for k, v in params.items()
            if k not in TRANSPORT_PARAMS and not k.startswith("param_")
        }

    def run(self, conn) -> bytes:
        """Execute on ``conn``; the answer body."""
        if self.database:
            conn.query(f"USE `{self.database}`")
        for name, value in self.settings.items():
            quoted = value.replace("\\", "\\\\").replace("'", "\\'")
            conn.query(f"SET {name} = '{quoted}'")
        insert = INSERT_WITH_FORMAT.match(self.statement) if self.body else None
        if insert:
            with conn.send_insert(insert.group(1), insert.group(2)) as stream:
                stream.append(self.body)
                stream.finish()
            return b""
        sql = "\n".join(part for part in (self.statement, self.body.decode()) if part)
        return conn.query(sql, self.default_format, params=self.bind).bytes()


def _form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The fields of a multipart/form-data body, by name."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    return {
        part.get_param("name", header="content-disposition"): part.get_payload(decode=True).decode()
        for part in message.iter_parts()
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/ping":
            self._answer(200, b"Ok.\n", {})
        else:
            self._serve(b"")

    def do_POST(self) -> None:
        self._serve(self.rfile.read(int(self.headers.get("Content-Length", 0))))

    def _serve(self, body: bytes) -> None:
        query_id = str(uuid.uuid4())
        conn = chdb.connect(self.server.chdb_path)
        try:
            answer = _Request(self, body).run(conn)
        except Exception as exc:
            message = str(exc)
            code = ERROR_CODE.search(message)
            headers = {"X-ClickHouse-Exception-Code": code.group(1) if code else "1000"}
            self._answer(500, message.encode(), headers)
            return
        finally:
            conn.close()
        headers = {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": "UTC",
            "X-ClickHouse-Summary": json.dumps({"read_rows": "0", "written_rows": "0"}),
        }
        self._answer(200, answer, headers)

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        """Quiet: the tests read answers, not access logs."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, chdb_path: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.chdb_path = chdb_path


class ChdbHttpServer:
    """Start with ``chdb_path`` (the folder this process's engine already uses) and a database."""

    def __init__(self, chdb_path: str, database: str) -> None:
        self._server = _Server(chdb_path)
        self.database = database
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"clickhouse://default:@{host}:{port}/{self.database}"

    def start(self) -> ChdbHttpServer:
        conn = chdb.connect(self._server.chdb_path)
        try:
            conn.query(f"CREATE DATABASE IF NOT EXISTS `{self.database}`")
        finally:
            conn.close()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
