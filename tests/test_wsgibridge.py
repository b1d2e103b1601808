"""The web's HTTP path (annotate/wsgibridge.py): what the ASGI server is sent for a request, and
when the request's body is read. A real Django response and small WSGI applications stand in
for the site; the topology tests run the site itself under uvicorn."""

from __future__ import annotations

import asyncio
import threading

from django.http import HttpResponse, StreamingHttpResponse

from annotate.wsgibridge import SMALL_BODY, ThreadedWSGI


def scope(*, headers=(), method="POST"):
    return {
        "type": "http",
        "method": method,
        "path": "/x",
        "query_string": b"",
        "http_version": "1.1",
        "headers": list(headers),
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }


def serve(app, request_scope, body_messages, *, leave_after=None):
    """Run one request through ThreadedWSGI; (messages sent, the order of the body's messages
    received and the app's start).

    Once the body's messages are used up, receive() waits, as a server's does while the client
    stays; with `leave_after` N it says the client disconnected once N body chunks were sent."""
    sent, log = [], []
    pending = list(body_messages)
    left = asyncio.Event()

    async def receive():
        if pending:
            log.append("receive")
            return pending.pop(0)
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)
        if leave_after is not None and sum(m["type"] == "http.response.body" for m in sent) >= leave_after:
            left.set()

    def wrapped(environ, start_response):
        log.append("app")
        return app(environ, start_response)

    asyncio.run(ThreadedWSGI(wrapped, threads=2)(request_scope, receive, send))
    return sent, log


def echo(environ, start_response):
    """The request's body back, as a Django response (its content in memory)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    response = HttpResponse(body, content_type="application/octet-stream")
    start_response("200 OK", [(k, v) for k, v in response.items()])
    return response


def test_a_small_body_is_read_before_the_thread_and_the_answer_is_sent_in_one_message():
    body = b'{"queue_id": 7}'
    sent, log = serve(
        echo,
        scope(headers=[(b"content-length", str(len(body)).encode())]),
        [{"type": "http.request", "body": body[:5], "more_body": True}, {"type": "http.request", "body": body[5:]}],
    )
    assert log == ["receive", "receive", "app"]  # the whole body first, then the thread
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200
    assert (b"content-type", b"application/octet-stream") in sent[0]["headers"]
    assert sent[1]["body"] == body and not sent[1].get("more_body")


def test_a_request_without_a_body_never_waits_for_one():
    sent, log = serve(echo, scope(method="GET"), [])
    assert log == ["app"]
    assert sent[1]["body"] == b""


def test_a_big_upload_is_streamed_to_the_thread_as_it_is_read_never_read_whole_first():
    chunk = b"a" * (64 * 1024)
    parts = SMALL_BODY // len(chunk) + 2
    messages = [{"type": "http.request", "body": chunk, "more_body": i < parts - 1} for i in range(parts)]
    sent, log = serve(echo, scope(headers=[(b"content-length", str(len(chunk) * parts).encode())]), messages)
    assert log[0] == "app"  # the app started before any of the body was received
    assert log.count("receive") == parts
    assert sent[1]["body"] == chunk * parts


def test_a_chunked_body_is_streamed():
    messages = [{"type": "http.request", "body": b"abc", "more_body": True}, {"type": "http.request", "body": b"def"}]

    def read_all(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["wsgi.input"].read()]

    sent, log = serve(read_all, scope(headers=[(b"transfer-encoding", b"chunked")]), messages)
    assert log[0] == "app"
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"abcdef"


def test_a_streaming_response_is_sent_chunk_by_chunk_from_its_thread():
    produced_in = []

    def chunks():
        for part in (b"one", b"two", b"three"):
            produced_in.append(threading.current_thread().name)
            yield part

    def stream(environ, start_response):
        response = StreamingHttpResponse(chunks(), content_type="audio/mpeg")
        start_response("206 Partial Content", [(k, v) for k, v in response.items()])
        return response

    sent, _ = serve(stream, scope(method="GET"), [])
    assert [(m["type"], m.get("body"), m.get("more_body", False)) for m in sent] == [
        ("http.response.start", None, False),
        ("http.response.body", b"one", True),
        ("http.response.body", b"two", True),
        ("http.response.body", b"three", True),
        ("http.response.body", b"", False),
    ]
    assert sent[0]["status"] == 206
    assert all(name.startswith("web") for name in produced_in)  # the pool's threads, not the event loop


def test_the_response_is_closed_in_its_thread_before_it_is_sent():
    """Closing a Django response ends the request (request_finished gives the database
    connection back to the pool): in the request's own thread, where the connection lives."""
    closed_in = []

    class Tracked(HttpResponse):
        def close(self):
            closed_in.append(threading.current_thread().name)
            super().close()

    def app(environ, start_response):
        response = Tracked(b"ok")
        start_response("200 OK", list(response.items()))
        return response

    sent, _ = serve(app, scope(method="GET"), [])
    assert len(closed_in) == 1 and closed_in[0].startswith("web")
    assert sent[1]["body"] == b"ok"


def test_a_client_that_leaves_while_sending_its_body_gets_no_answer_and_runs_nothing():
    sent, log = serve(echo, scope(headers=[(b"content-length", b"100")]), [{"type": "http.disconnect"}])
    assert sent == []
    assert "app" not in log


def test_a_streaming_response_stops_when_the_client_leaves():
    """An abandoned download is not read (and decrypted) to its end for nobody: the thread stops
    producing once the server says the client disconnected, and the response is closed."""
    produced, closed = [], []

    def chunks():
        for i in range(1000):
            produced.append(i)
            yield b"x" * 1024

    class Stream(StreamingHttpResponse):
        def close(self):
            closed.append(True)
            super().close()

    def stream(environ, start_response):
        response = Stream(chunks(), content_type="application/zip")
        start_response("200 OK", list(response.items()))
        return response

    sent, _ = serve(stream, scope(method="GET"), [], leave_after=3)
    assert len(produced) < 50
    assert closed == [True]
    assert sent[-1].get("more_body", False)  # no end of body was sent: the client had gone


def test_a_head_request_never_produces_a_streaming_body():
    produced = []

    def chunks():
        produced.append(1)
        yield b"never"

    def stream(environ, start_response):
        response = StreamingHttpResponse(chunks(), content_type="application/zip")
        start_response("200 OK", list(response.items()))
        return response

    sent, _ = serve(stream, scope(method="HEAD"), [])
    assert produced == []
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
