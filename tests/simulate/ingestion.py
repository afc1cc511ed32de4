"""A small real HTTP server that stands in for the ingestion API in the sender's tests."""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class IngestionServer(ThreadingHTTPServer):
    """De-duplicates by event_id like the real API; ``failures`` says how the first posts fail.

    ``"before"``: 503 without storing; ``"after"``: stores the batch, then answers 503 (the
    answer was lost); ``"refuse"``: 400 on every post.
    """

    def __init__(self, failures: list[str]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.failures = failures
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.stored: set[str] = set()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def ingest(self, batch: list[dict]) -> dict[str, int]:
        before = len(self.stored)
        self.stored.update(e["event_id"] for e in batch)
        accepted = len(self.stored) - before
        return {"accepted": accepted, "duplicates": len(batch) - accepted, "rejected": 0}


class Handler(BaseHTTPRequestHandler):
    server: IngestionServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        with self.server.lock:
            self.server.posts.append((self.path, dict(self.headers), body))
            failure = self.server.failures.pop(0) if self.server.failures else None
            if failure == "refuse":
                self.server.failures.append("refuse")
                return self._answer(400, {"detail": "bad events"})
            answer = None if failure == "before" else self.server.ingest(json.loads(body))
        if failure is None:
            return self._answer(202, answer)
        return self._answer(503, {"detail": "try again"})

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        """Quiet."""
