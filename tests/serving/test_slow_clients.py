"""Slow and stalled clients against the real server (embedded defaults: one process, chDB).

Nothing reaches Django's threads before its request is complete, so a crowd of sockets
trickling headers or bodies costs the other requests nothing; read deadlines then close
them (408), and past ``--max-connections`` a request is refused at once (503), never left
hanging. The measured numbers are in docs/serving.md (bench/serving.py).
"""

from __future__ import annotations

import socket
import time

import pytest
import requests

from .slow_clients import SlowClients, latencies, timed_get, wait_for

PATH = "/api/v1/environments/"  # without a token: 401, through the whole Django stack


@pytest.mark.slow
def test_200_slow_clients_do_not_delay_a_normal_request(serve):
    server = serve("--header-timeout", "120", "--body-timeout", "120")
    url = server.base + PATH
    latencies(url, 3)  # warm up

    with SlowClients(
        server.host, server.port, headers=100, bodies=100, interval=1.0, sender=server.sender
    ) as slow:
        time.sleep(1.5)  # every socket has sent a byte more since it connected
        assert slow.connected == 200  # all held open, none answered
        timed = latencies(url, 10)
        assert slow.connected == 200

    assert [status for _, status in timed] == [401] * 10
    assert max(seconds for seconds, _ in timed) < 1.0, timed


def test_read_deadlines_answer_408_and_close(serve):
    server = serve("--header-timeout", "1", "--body-timeout", "1")
    started = time.monotonic()

    with SlowClients(
        server.host, server.port, headers=5, bodies=5, interval=0.2, sender=server.sender
    ) as slow:
        assert wait_for(lambda: slow.connected == 0, 20)
        answers = slow.answers

    assert time.monotonic() - started < 20
    assert len(answers) == 10
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers), answers
    assert sum(b"The request headers were not complete within 1 s." in a for a in answers) == 5
    assert sum(b"The request body was not complete within 1 s." in a for a in answers) == 5
    assert timed_get(server.base + PATH)[1] == 401  # prompt requests are untouched


def test_a_silent_connection_is_closed_after_the_header_deadline(serve):
    server = serve("--header-timeout", "1")
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        assert sock.recv(1024) == b""  # closed, without an answer to a request never begun


def test_past_the_connection_limit_a_request_is_refused_at_once(serve):
    server = serve("--max-connections", "10", "--header-timeout", "60")
    url = server.base + PATH
    idle = [socket.create_connection((server.host, server.port), timeout=10) for _ in range(10)]
    try:
        time.sleep(0.5)
        response = requests.get(url, timeout=10)  # a hang would be a timeout error here
        assert response.status_code == 503
    finally:
        for sock in idle:
            sock.close()
    assert wait_for(lambda: timed_get(url)[1] == 401, 10)
