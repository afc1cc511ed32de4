"""A forwarding proxy that loses every n-th answer after the server has read the request.

Each connection carries one request: the proxy relays it to the server, reads the server's
answer (its head, then ``Content-Length`` bytes) and passes it on with ``Connection: close``,
so that the client opens a new connection for its next request and every request is
counted. On every ``every``-th request it closes the client's socket instead of passing the
answer on: the server has read the request and stored its events, the client sees a dropped
connection and retries a batch that is already stored, which it must not count twice.
Plain sockets and threads.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class CuttingProxy:
    def __init__(self, host: str, port: int, every: int = 3) -> None:
        self.target = (host, port)
        self.every = every
        self.connections = 0
        self.cut = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> CuttingProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):  # wakes the accept() that close() alone would not
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                cutting = self.connections % self.every == 0
            threading.Thread(target=self._relay, args=(client, cutting), daemon=True).start()

    def _relay(self, client: socket.socket, cutting: bool) -> None:
        with client, socket.create_connection(self.target) as upstream:
            threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
            answer = _answer(upstream)
            if cutting:
                with self._lock:
                    self.cut += answer is not None
            elif answer is not None:
                head, body = answer
                with contextlib.suppress(OSError):
                    client.sendall(head + b"Connection: close\r\n\r\n" + body)
            # The answer exists, so the server read the request: cut, the client never sees it.
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)


def _answer(upstream: socket.socket) -> tuple[bytes, bytes] | None:
    """The server's answer: its head (status line and headers but ``Connection``, each
    ending in CRLF, without the blank line) and its body; None if the server hung up."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = _receive(upstream)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = _receive(upstream)
        if not chunk:
            return None
        body += chunk
    kept = [line for line in lines if not line.lower().startswith(b"connection:")]
    return b"".join(line + b"\r\n" for line in kept), body


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    while chunk := _receive(source):
        try:
            sink.sendall(chunk)
        except OSError:
            return
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
