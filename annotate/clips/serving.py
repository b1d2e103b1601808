"""Serving decrypted audio to a browser: inline, never cached, with HTTP ranges.

Every audio door (the reviewer's, the lead's, the officer's) checks access,
gets the audio from a service that audits the play (clips.playback, or
escalation's case_audio), then answers through here.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def wav_response(request: HttpRequest, wav: bytes) -> HttpResponse:
    size = len(wav)
    status, start, end = 200, 0, size - 1
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match and (match.group(1) or match.group(2)):
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
        else:  # suffix range: the last N bytes
            start = max(0, size - int(match.group(2)))
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return _private(response)
        status = 206
    response = HttpResponse(wav[start : end + 1], status=status, content_type="audio/wav")
    response["Accept-Ranges"] = "bytes"
    response["Content-Length"] = str(end - start + 1)
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Disposition"] = "inline"
    return _private(response)


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response
