"""Django's ASGI handler with a request's sync work run in one thread hop.

liftlab's views and middleware are all synchronous. Django's own ``ASGIHandler`` runs the chain
in async mode, so every middleware's ``process_request`` and ``process_response`` is a separate
``sync_to_async`` call: 34 thread hops for a plain API request, measured at 5 to 8 ms of
hand-offs on this 2-core machine where the same request takes under 1 ms under WSGI. This
handler loads the chain in sync mode (``load_middleware(is_async=False)``, as WSGI does) and
runs, in one ``sync_to_async`` on the request's thread, what Django's ``handle`` spreads over
three: the ``request_started`` signal (which closes stale database connections), building the
request, the chain, and, for a response held in memory, ``close()`` (``request_finished``: the
connections closed or kept, as under WSGI). A streaming response (WhiteNoise's files) is closed
in a second hop, after it is sent, since closing it closes its file.

Reading the body and sending the response stay Django's ASGI code. Django's handler also
listens for a client disconnect while the view runs, to cancel the coroutine waiting for it;
behind ``WholeRequests`` (liftlab.serving.buffering) the body is already read and the thread
finishes the request either way, so nothing is listened for: a response to a client that left
is dropped by the server.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def handle(self, scope, receive, send) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            response = await sync_to_async(self.compute, thread_sensitive=True)(scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:
                    await sync_to_async(response.close, thread_sensitive=True)()
        finally:
            body_file.close()

    def compute(self, scope, body_file) -> HttpResponseBase:
        """Everything sync of one request, on its thread; a response in memory comes back
        closed (its ``request_finished`` sent), a streaming one open."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        response = error_response if request is None else self.get_response(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):  # as ASGIHandler: the server chunks the body
            response.block_size = self.chunk_size
        if not response.streaming:
            response.close()  # the content stays: it is sent after the thread is free
        return response
