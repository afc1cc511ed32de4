"""Request bodies through the real server: chunked ones read whole, size limits on every kind.

``requests`` sends a generator body with ``Transfer-Encoding: chunked`` (no Content-Length),
as SDKs streaming a batch do. The module's server has a 200 kB events body limit; everything
else has Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB).
"""

from __future__ import annotations

import gzip
import json
import socket
import uuid
from pathlib import Path

import requests
from django.conf import settings

from liftlab import web

EVENTS_LIMIT = 200_000
TIMEOUT = 30


def chunked(data: bytes, size: int = 1000):
    """The body as a generator of ``size``-byte pieces: requests then sends it chunked."""
    return (data[i : i + size] for i in range(0, len(data), size))


def events(count: int) -> list[dict]:
    return [
        {"event": "purchase", "identifier": f"u{i}", "event_id": str(uuid.uuid4())}
        for i in range(count)
    ]


def post_events(server, body, **headers) -> requests.Response:
    headers = {"Content-Type": "application/json", **server.sender, **headers}
    return requests.post(server.base + "/api/v1/events/", data=body, headers=headers, timeout=30)


def test_a_chunked_batch_of_events_is_accepted(server):
    body = json.dumps(events(300)).encode()

    response = post_events(server, chunked(body))

    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 300


def test_a_chunked_gzipped_ndjson_batch_is_accepted(server):
    lines = "\n".join(json.dumps(event) for event in events(50)).encode()

    response = post_events(
        server,
        chunked(gzip.compress(lines), 100),
        **{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"},
    )

    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 50


def test_a_chunked_management_body_is_read(server):
    body = json.dumps({"name": "Chunked environment"}).encode()

    response = requests.post(
        server.base + "/api/v1/environments/",
        data=chunked(body, 5),
        headers={**server.admin, "Content-Type": "application/json"},
        timeout=TIMEOUT,
    )

    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Chunked environment"


def test_an_events_body_over_the_limit_is_a_413_chunked_or_not(server):
    body = json.dumps(events(3000)).encode()
    assert len(body) > EVENTS_LIMIT

    for sent in (body, chunked(body, 64 * 1024)):
        response = post_events(server, sent)

        assert response.status_code == 413, response.text
        assert response.json() == {
            "detail": f"body is larger than the limit of {EVENTS_LIMIT} bytes"
        }


def test_a_management_body_over_the_limit_is_a_json_413_chunked_or_not(server):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = json.dumps({"name": "x", "description": "x" * limit}).encode()
    url = server.base + "/api/v1/environments/"
    headers = {**server.admin, "Content-Type": "application/json"}

    for sent in (body, chunked(body, 64 * 1024)):
        response = requests.post(url, data=sent, headers=headers, timeout=TIMEOUT)

        assert response.status_code == 413, response.text
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {
            "detail": f"The request body is larger than the limit of {limit} bytes."
        }


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(server):
    """An SDK asking first (``Expect: 100-continue``) is told 413 and never sends the body."""
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as sock:
        sock.sendall(
            b"POST /api/v1/events/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: 50000000\r\n\r\n"
        )
        answer = sock.recv(65536)

    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert b"connection: close" in answer.lower()


def test_static_files_are_served(server):
    path = Path(web.__file__).parent / "static" / "web" / "liftlab.css"

    response = requests.get(server.base + "/static/web/liftlab.css", timeout=TIMEOUT)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.content == path.read_bytes()
