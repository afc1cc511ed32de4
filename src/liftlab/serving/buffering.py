"""Whole requests in, whole responses out: Django's threads only ever compute.

``WholeRequests`` wraps Django's ASGI application. In the event loop, before any thread is
involved, it

1. reads the whole request body (de-chunked by the server), refusing with ``413`` one whose
   declared or actual size passes the path's limit: the events endpoint's
   ``INGEST_MAX_BODY_BYTES``, everything else Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``
   (JSON ``{"detail": …}`` under ``/api/``). A body spools to a temporary file past 1 MB;
2. hands Django the body with a ``Content-Length`` (and no ``Transfer-Encoding``), so a chunked
   request reads like any other, in DRF and in the events view alike;
3. runs Django on one of ``threads`` long-lived threads (asgiref's ``ThreadSensitiveContext``
   with a fixed executor: each request's sync code stays on one thread, whose database
   connections persist as under WSGI); a request waits in the loop for a free thread;
4. collects the response and writes it to the socket only after the thread is free again, so
   a client that reads slowly holds a socket, not a thread.

Streaming responses are therefore sent whole; liftlab has none larger than a few megabytes.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext

IN_MEMORY_BYTES = 1024 * 1024  # per request being read; the rest spools to disk
REPLAY_CHUNK = 64 * 1024

Scope = dict[str, Any]
Message = dict[str, Any]


def body_limit(path: str) -> int | None:
    """Bytes a request body to ``path`` may have (None: no limit)."""
    from django.conf import settings
    from django.urls import reverse

    from liftlab.ingest import Limits

    if path == reverse("events"):
        return Limits.from_env().max_body_bytes
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def too_large_detail(path: str, limit: int) -> str:
    """The 413's words: the events view's own for the events endpoint, else the API's."""
    from django.urls import reverse

    if path == reverse("events"):
        return f"body is larger than the limit of {limit} bytes"
    return f"The request body is larger than the limit of {limit} bytes."


class ThreadSlots:
    """``count`` single-thread executors; a request borrows one for all of its sync code."""

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError("at least one thread")
        self.count = count
        self._free: asyncio.Queue[ThreadPoolExecutor] | None = None

    def _queue(self) -> asyncio.Queue[ThreadPoolExecutor]:
        if self._free is None:
            self._free = asyncio.Queue()
            for index in range(self.count):
                self._free.put_nowait(
                    ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"liftlab-request-{index}")
                )
        return self._free

    async def run(self, call) -> None:
        free = self._queue()
        executor = await free.get()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await call()
        finally:
            free.put_nowait(executor)


class WholeRequests:
    """The ASGI middleware described in the module docstring, around ``app`` (Django's)."""

    def __init__(self, app, *, threads: int) -> None:
        self.app = app
        self.slots = ThreadSlots(threads)

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":  # lifespan: Django has none; uvicorn runs with it off
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = body_limit(path)
        declared = _content_length(scope)
        if limit is not None and declared is not None and declared > limit:
            await _too_large(send, path, limit)
            return
        response: list[Message] = []
        with tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES) as body:
            size = await _read_body(receive, body, limit)
            if size is None:  # the client went away
                return
            if limit is not None and size > limit:
                await _too_large(send, path, limit)
                return
            body.seek(0)
            scope = _with_length(scope, size)
            replay = _Replay(body, size, receive)

            async def collect(message: Message) -> None:
                response.append(message)

            await self.slots.run(lambda: self.app(scope, replay.receive, collect))
        for message in response:
            await send(message)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _read_body(receive, body, limit: int | None) -> int | None:
    """Read messages into ``body`` until the last or past ``limit``; None on a disconnect."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return size
        body.write(chunk)
        if not message.get("more_body", False):
            return size


def _with_length(scope: Scope, size: int) -> Scope:
    """The scope with the body's real length, and no chunked framing left to read."""
    headers = [
        (name, value)
        for name, value in scope["headers"]
        if name not in (b"content-length", b"transfer-encoding")
    ]
    if size or len(headers) != len(scope["headers"]):
        headers.append((b"content-length", str(size).encode()))
    return {**scope, "headers": headers}


class _Replay:
    """Django's ``receive``: the buffered body in chunks, then the server's own (disconnect)."""

    def __init__(self, body, size: int, receive) -> None:
        self.body = body
        self.size = size
        self.server_receive = receive
        self.done = False

    async def receive(self) -> Message:
        if self.done:
            return await self.server_receive()
        chunk = self.body.read(REPLAY_CHUNK)
        more = self.body.tell() < self.size
        self.done = not more
        return {"type": "http.request", "body": chunk, "more_body": more}


async def _too_large(send, path: str, limit: int) -> None:
    """413, and close: the rest of the body is not read."""
    detail = too_large_detail(path, limit)
    if path.startswith("/api/"):
        body, kind = json.dumps({"detail": detail}).encode(), b"application/json"
    else:
        body, kind = (detail + "\n").encode(), b"text/plain; charset=utf-8"
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
