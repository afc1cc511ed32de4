"""``SyncChainASGIHandler``: a request's sync work in one thread hop, on the request's thread.

Driven with the real Django application and middleware behind ``WholeRequests`` (no server);
the hand-offs are counted by wrapping ``SyncToAsync.__call__`` (every ``sync_to_async``, Django's
own included), which still runs them.
"""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from asgiref import sync
from django.core import signals

from liftlab.serving import handler
from liftlab.serving.buffering import WholeRequests

pytestmark = pytest.mark.django_db(transaction=True)


def request_scope(path: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }


def serve(path: str, monkeypatch) -> tuple[list[dict], int, dict[str, set[int]]]:
    """The messages sent for one request, its thread hand-offs and the threads on which its
    ``request_started`` and ``request_finished`` receivers ran."""
    hops = [0]
    threads: dict[str, set[int]] = {"started": set(), "finished": set()}
    call = sync.SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        hops[0] += 1
        return await call(self, *args, **kwargs)

    def started(**_):
        threads["started"].add(threading.get_ident())

    def finished(**_):
        threads["finished"].add(threading.get_ident())

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counted)
    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    sent: list[dict] = []
    receive_queue = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if receive_queue:
            return receive_queue.pop(0)
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    try:
        application = WholeRequests(handler.SyncChainASGIHandler(), threads=2)
        asyncio.run(application(request_scope(path), receive, send))
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    return sent, hops[0], threads


def test_an_api_request_is_one_hop_its_signals_on_its_thread(monkeypatch):
    sent, hops, threads = serve("/api/v1/environments/", monkeypatch)
    assert sent[0]["status"] == 401
    assert "detail" in json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert hops == 1  # Django's own handler: three (request_started, the chain, close())
    # request_started and request_finished (which close or keep the database connections)
    # ran on one thread, the request's, as under WSGI.
    assert len(threads["started"]) == 1
    assert threads["started"] == threads["finished"]


def test_an_unknown_page_is_a_404_in_one_hop(monkeypatch):
    sent, hops, threads = serve("/no-such-page/", monkeypatch)
    assert sent[0]["status"] == 404
    assert hops == 1
    assert len(threads["started"]) == 1
    assert threads["started"] == threads["finished"]
