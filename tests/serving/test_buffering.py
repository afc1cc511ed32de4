"""``WholeRequests`` on its own: an ASGI app in, fake ``receive``/``send`` out, no server."""

from __future__ import annotations

import asyncio
import json
import threading

from asgiref.sync import sync_to_async
from django.conf import settings

from liftlab.serving.buffering import WholeRequests


def scope(path: str = "/api/v1/environments/", headers=()) -> dict:
    return {"type": "http", "method": "POST", "path": path, "headers": list(headers)}


def receiving(*chunks: bytes):
    """``receive`` giving the chunks as http.request messages, then a disconnect."""
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # as a server does until the response is sent

    return receive


class Recorder:
    """An app that reads the whole body and answers 200 with what it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict, bytes]] = []

    async def __call__(self, scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.seen.append((scope, body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def run(app, the_scope, receive) -> list[dict]:
    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(app(the_scope, receive, send))
    return sent


def test_a_chunked_body_reaches_the_app_whole_with_its_length():
    recorder = Recorder()
    headers = [(b"transfer-encoding", b"chunked"), (b"content-type", b"application/json")]
    body = b'{"name": "' + b"x" * 200_000 + b'"}'
    pieces = [body[i : i + 7000] for i in range(0, len(body), 7000)]

    sent = run(WholeRequests(recorder, threads=2), scope(headers=headers), receiving(*pieces))

    ((seen_scope, seen_body),) = recorder.seen
    assert seen_body == body
    assert dict(seen_scope["headers"]) == {
        b"content-type": b"application/json",
        b"content-length": str(len(body)).encode(),
    }
    assert [m.get("status") for m in sent] == [200, None]


def test_a_body_without_framing_headers_keeps_its_headers():
    recorder = Recorder()
    headers = [(b"content-length", b"2")]

    run(WholeRequests(recorder, threads=1), scope(headers=headers), receiving(b"{}"))

    assert recorder.seen[0][0]["headers"] == headers


def test_over_the_limit_is_a_json_413_and_the_app_never_runs():
    recorder = Recorder()
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    chunks = [b"x" * (1024 * 1024)] * 3

    declared = run(
        WholeRequests(recorder, threads=1),
        scope(headers=[(b"content-length", str(limit + 1).encode())]),
        receiving(b""),
    )
    streamed = run(WholeRequests(recorder, threads=1), scope(), receiving(*chunks))

    for sent in (declared, streamed):
        start, body = sent
        assert start["status"] == 413
        assert (b"connection", b"close") in start["headers"]
        assert json.loads(body["body"]) == {
            "detail": f"The request body is larger than the limit of {limit} bytes."
        }
    assert recorder.seen == []


def test_the_events_endpoint_has_its_own_limit(monkeypatch):
    monkeypatch.setenv("INGEST_MAX_BODY_BYTES", "10")
    recorder = Recorder()

    start, body = run(
        WholeRequests(recorder, threads=1), scope("/api/v1/events/"), receiving(b"[" + b" " * 10)
    )

    assert start["status"] == 413
    assert json.loads(body["body"]) == {"detail": "body is larger than the limit of 10 bytes"}


def test_a_client_gone_before_the_end_of_its_body_never_reaches_the_app():
    recorder = Recorder()
    messages = [{"type": "http.request", "body": b"{", "more_body": True}]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    assert run(WholeRequests(recorder, threads=1), scope(), receive) == []
    assert recorder.seen == []


def test_at_most_threads_requests_compute_at_once_each_on_one_thread():
    threads = 3
    lock = threading.Lock()
    running, most, used = [0], [0], []

    def compute():
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        threading.Event().wait(0.05)
        with lock:
            running[0] -= 1
        return threading.get_ident()

    async def app(scope, receive, send):
        await receive()
        first = await sync_to_async(compute)()  # thread-sensitive, as Django's calls are
        second = await sync_to_async(threading.get_ident)()
        used.append((first, second))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def main():
        wrapped = WholeRequests(app, threads=threads)

        async def send(message):
            pass

        await asyncio.gather(*(wrapped(scope(), receiving(b""), send) for _ in range(12)))

    asyncio.run(main())

    assert most[0] == threads
    assert all(first == second for first, second in used)  # one request, one thread
    assert len({first for first, _ in used}) == threads  # the same few threads, reused


def test_the_response_is_written_after_the_thread_is_free():
    """A client that reads slowly holds its socket, not one of the threads."""
    order = []

    async def app(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x"})

    async def main():
        wrapped = WholeRequests(app, threads=1)

        async def slow_send(message):
            if message["type"] == "http.response.body":
                await asyncio.sleep(0.3)  # the client reads slowly
                order.append("first written")

        async def quick_send(message):
            if message["type"] == "http.response.body":
                order.append("second written")

        first = asyncio.create_task(wrapped(scope(), receiving(b""), slow_send))
        await asyncio.sleep(0.1)  # the first is now being written
        await wrapped(scope(), receiving(b""), quick_send)
        await first

    asyncio.run(main())

    assert order == ["second written", "first written"]
