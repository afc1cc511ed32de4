"""Slow clients ("slowloris"): sockets that send a request a byte at a time and never finish.

Half of them trickle the request's headers, the other half send complete headers for a
large body and trickle the body. One thread feeds every socket a byte each ``interval``;
a socket the server closes (or answers) is counted as cut and left alone. Used by
tests/serving and bench/serving.py, against a real ``liftlab serve`` on loopback only.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable

import requests

HEADER_START = b"GET /api/v1/environments/ HTTP/1.1\r\nHost: slow\r\n"
HEADER_LINE = b"X-Slow: a\r\n"  # repeated a byte at a time: always valid, never finished
BODY_START = (
    b"POST /api/v1/events/ HTTP/1.1\r\nHost: slow\r\n{sender}"
    b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n["
)
BODY_BYTE = b" "


class SlowClients:
    """``headers`` + ``bodies`` slow sockets to ``host:port`` while the context is open."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        headers: int,
        bodies: int,
        interval: float = 2.0,
        sender: dict[str, str] | None = None,
    ) -> None:
        """``sender``: headers that authenticate the events batch the body clients send."""
        self.address = (host, port)
        lines = "".join(f"{name}: {value}\r\n" for name, value in (sender or {}).items())
        self.body_start = BODY_START.replace(b"{sender}", lines.encode())
        self.kinds = [HEADER_LINE] * headers + [BODY_BYTE] * bodies
        self.interval = interval
        self.sockets: list[socket.socket | None] = []
        self.answers: list[bytes] = []  # what the server sent before closing, per cut socket
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self) -> SlowClients:
        for kind in self.kinds:
            sock = socket.create_connection(self.address, timeout=5)
            sock.sendall(HEADER_START if kind is HEADER_LINE else self.body_start)
            sock.setblocking(False)
            self.sockets.append(sock)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for sock in self.sockets:
            if sock is not None:
                sock.close()

    @property
    def connected(self) -> int:
        """How many slow sockets the server has neither closed nor answered yet."""
        with self._lock:
            return sum(sock is not None for sock in self.sockets)

    def _trickle(self) -> None:
        sent = 0
        while not self._stop.wait(self.interval):
            with self._lock:
                for index, sock in enumerate(self.sockets):
                    if sock is None:
                        continue
                    if self._answered(sock) or not self._send(sock, index, sent):
                        sock.close()
                        self.sockets[index] = None
            sent += 1

    def _answered(self, sock: socket.socket) -> bool:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        with contextlib.suppress(OSError):
            self.answers.append(sock.recv(4096))
        return True

    def _send(self, sock: socket.socket, index: int, sent: int) -> bool:
        pattern = self.kinds[index]
        try:
            sock.send(pattern[sent % len(pattern) : sent % len(pattern) + 1])
        except OSError:
            return False
        return True


def timed_get(url: str, timeout: float = 30.0) -> tuple[float, int | None]:
    """Seconds for one GET on a new connection, and its status (None when it failed)."""
    started = time.perf_counter()
    try:
        status: int | None = requests.get(url, timeout=timeout).status_code
    except requests.RequestException:
        status = None
    return time.perf_counter() - started, status


def latencies(url: str, count: int, pause: float = 0.05) -> list[tuple[float, int | None]]:
    """``count`` sequential timed GETs, ``pause`` s apart."""
    results = []
    for _ in range(count):
        results.append(timed_get(url))
        time.sleep(pause)
    return results


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()
