"""uvicorn's h11 protocol with read deadlines: a request's headers, then its body, in bounded time.

uvicorn itself times out only idle keep-alive connections: a socket that sends one header byte
every few seconds would stay open for ever. Here each connection has one deadline at a time,
chosen by what h11 says the client is doing:

- waiting for (more of) a request's headers (``IDLE``): ``header_timeout`` from the moment the
  connection opened or the previous response was sent;
- sending the body (``SEND_BODY``): ``body_timeout`` from the end of the headers;
- anything else (the request is complete, the application has it): no deadline.

A deadline that passes answers ``408`` (JSON, ``Connection: close``) when some of the request
has arrived, and closes the connection. Nothing reaches Django before the request is complete
(``liftlab.serving.buffering``), so a slow client costs a socket and a little memory here,
never one of Django's threads.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from liftlab.serving import ServeOptions

DEFAULTS = ServeOptions()


def _timeout_response(detail: str) -> bytes:
    body = json.dumps({"detail": detail}).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class DeadlineH11Protocol(H11Protocol):
    """``H11Protocol`` plus the header and body deadlines (``config.header_timeout``, …)."""

    def __init__(self, config, server_state, app_state: dict[str, Any], _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = float(getattr(config, "header_timeout", DEFAULTS.header_timeout))
        self.body_timeout = float(getattr(config, "body_timeout", DEFAULTS.body_timeout))
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: object = None  # h11's state of the client at the last look
        self._received = False  # bytes of the current request have arrived

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._received = True
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start the next cycle (a pipelined request)
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _follow(self) -> None:
        """Set the deadline for what the client is doing now, if that changed."""
        phase = self.conn.their_state
        if phase is self._phase:
            return
        self._phase = phase
        self._cancel()
        if self.transport.is_closing():
            return
        if phase is h11.IDLE:
            self._received = False
            self._arm(self.header_timeout, "headers")
        elif phase is h11.SEND_BODY:
            self._arm(self.body_timeout, "body")

    def _arm(self, seconds: float, part: str) -> None:
        self._deadline = self.loop.call_later(seconds, self._expired, part, seconds)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, part: str, seconds: float) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        self.logger.info("closing a connection whose request %s took over %g s", part, seconds)
        answer = part == "body" or self._received
        if self.cycle is not None and not self.cycle.response_complete:
            # The application waits for the rest of the body: it now hears a disconnect,
            # and anything it would still send is dropped.
            answer = answer and not self.cycle.response_started
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if answer:
            what = "headers were" if part == "headers" else "body was"
            self.transport.write(
                _timeout_response(f"The request {what} not complete within {seconds:g} s.")
            )
        self.transport.close()
