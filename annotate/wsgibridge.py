"""Django's WSGI handler under the ASGI server, on a pool of threads, with two thread hops a request.

Every view and middleware of ours is synchronous. Django's own ASGI handler carries each
request across three thread hops and starts a thread per request; a2wsgi's adapter runs
a request in one pool thread but hands each piece of it back to the event loop and waits
there: the body as it is read, the response's start, each chunk of it and its end (five
hops for a claim). Each hop is a wake-up of the loop and of the thread, and on a busy
2-core machine they were a quarter of the web process's CPU (py-spy, bench/http_loop.py).

Here a request costs two hops: into its thread, and back with the whole response.
- A body of at most SMALL_BODY bytes (a claim, a submit, a form) is read in the event loop
  before the thread starts; a bigger one (an uploaded clip) or one of unknown length is
  streamed to the thread as Django reads it (a2wsgi's Body), never held whole.
- A response whose content Django already holds (an HttpResponse: `streaming` is False) is
  sent by the loop in one message once the thread is done with it. A streaming response
  (audio by ranges, an export) is sent chunk by chunk as the thread produces it, each send
  awaited, so a slow client holds back the file rather than filling memory; it stops when the
  client disconnects, and is not produced for HEAD.
The response is closed in its thread, which ends Django's request there (request_finished:
the database connection goes back to the pool) before the bytes go out.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import threading
from concurrent.futures import ThreadPoolExecutor

from a2wsgi.wsgi import Body, build_environ

SMALL_BODY = 256 * 1024


class ClientGone(Exception):
    """The client went away: while its request body was being read, or its response streamed."""


class ThreadedWSGI:
    """An ASGI application (HTTP only) running a WSGI application on `threads` threads."""

    def __init__(self, app, *, threads: int):
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="web")

    async def __call__(self, scope, receive, send) -> None:
        loop = asyncio.get_running_loop()
        try:
            body = await _small_body(scope, receive)
        except ClientGone:
            return
        gone = threading.Event()
        watcher = None
        if body is not None:  # the body is read: what the client sends now can only be its leaving
            watcher = loop.create_task(_watch(receive, gone))
        environ = build_environ(scope, Body(loop, receive) if body is None else io.BytesIO(body))
        run = contextvars.copy_context().run
        try:
            answer = await loop.run_in_executor(self.executor, run, self._respond, environ, loop, send, gone)
        except ClientGone:
            return
        finally:
            if watcher is not None:
                watcher.cancel()
        if answer is not None:
            start, content = answer
            await send(start)
            await send({"type": "http.response.body", "body": content})

    def _respond(self, environ, loop, send, gone: threading.Event):
        """In a pool thread: the response as (start message, content), or None once it was streamed.

        A streaming response stops when the client has gone (an abandoned export download is not
        read and decrypted to the end for nobody), and is not produced at all for HEAD."""
        started: list[dict] = []
        sent = False

        def hop(message: dict) -> None:
            if gone.is_set():
                raise ClientGone
            asyncio.run_coroutine_threadsafe(send(message), loop).result()

        def start_response(status: str, headers, exc_info=None):
            if exc_info is not None and sent:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [_start_message(status, headers)]
            return write

        def write(chunk: bytes) -> None:  # WSGI's legacy write(); Django never calls it
            nonlocal sent
            if not sent:
                hop(started[0])
                sent = True
            hop({"type": "http.response.body", "body": bytes(chunk), "more_body": True})

        iterable = self.app(environ, start_response)
        try:
            if getattr(iterable, "streaming", True) is False and not sent:
                return started[0], b"".join(iterable)
            if environ["REQUEST_METHOD"] == "HEAD" and not sent:  # the server sends no body anyway
                return started[0], b""
            for chunk in iterable:
                write(chunk)
            if not sent:
                hop(started[0])
            hop({"type": "http.response.body", "body": b""})
            return None
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()


def _start_message(status: str, headers) -> dict:
    return {
        "type": "http.response.start",
        "status": int(status.split(" ", 1)[0]),
        "headers": [(name.strip().encode("latin1").lower(), value.strip().encode("latin1")) for name, value in headers],
    }


async def _watch(receive, gone: threading.Event) -> None:
    """Set `gone` when the client disconnects (the server's receive() says so)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


async def _small_body(scope, receive) -> bytes | None:
    """The whole body if its declared length is at most SMALL_BODY; None to stream it instead."""
    length = None
    for name, value in scope["headers"]:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
    if not length:
        return b""  # no body: HTTP/1.1 sends one only with a length or chunked
    if length > SMALL_BODY:
        return None
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)
