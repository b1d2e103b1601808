"""The ingest API for the upstream pipeline: the same service as `import_clips`.

POST /api/v1/clips (multipart): `audio` (the file) and the manifest fields as
form fields, or one `metadata` field holding the manifest object as JSON.
Authorization: Bearer <token> of a user in the `ingest` group.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from annotate.accounts import roles
from annotate.accounts.tokens import token_for_bearer
from annotate.clips import ingest
from annotate.web import client_ip

FORM_TYPES = {"wake_word_score": float, "opted_out": bool}


CODES = {400: "invalid", 401: "unauthorized", 403: "forbidden", 405: "method_not_allowed", 413: "too_large"}


def _error(status: int, message: str) -> JsonResponse:
    code = CODES.get(status, "rejected")
    return JsonResponse({"outcome": ingest.REJECTED, "error": message, "code": code}, status=status)


def _form_meta(request: HttpRequest) -> dict:
    if "metadata" in request.POST:
        try:
            return json.loads(request.POST["metadata"])
        except json.JSONDecodeError as exc:
            raise ingest.MetadataError(f"metadata is not valid JSON ({exc.msg})") from None
    raw: dict = {}
    for name in request.POST:
        value = request.POST[name].strip()
        kind = FORM_TYPES.get(name)
        if kind is float and value:
            try:
                raw[name] = float(value)
            except ValueError:
                raise ingest.MetadataError(f"field {name} must be a number, not {value!r}") from None
        elif kind is bool:
            if value.lower() not in {"true", "false", "1", "0", ""}:
                raise ingest.MetadataError(f"field {name} must be true or false, not {value!r}")
            raw[name] = value.lower() in {"true", "1"}
        elif value:
            raw[name] = value
    return raw


@csrf_exempt
@require_POST
def upload_clip(request: HttpRequest) -> JsonResponse:
    token = token_for_bearer(request)
    if token is None:
        return _error(401, "missing or invalid API token (Authorization: Bearer <token>)")
    user = token.user
    if not roles.has_role(user, roles.INGEST):
        return _error(403, "this account may not ingest clips")
    if "ingest" not in token.scopes:
        return _error(403, "this token may not ingest clips: ask for a token with the scope ingest")
    try:
        upload = request.FILES.get("audio")
    except MultiPartParserError as exc:
        return _error(400, f"the body is not valid multipart/form-data ({exc})")
    if upload is None:
        return _error(400, "missing file field: audio")
    try:
        meta = ingest.parse_meta(_form_meta(request))
    except ingest.MetadataError as exc:
        return _error(400, str(exc))
    if upload.size is not None and upload.size > settings.ANNOTATE_MAX_UPLOAD_BYTES:
        limit = settings.ANNOTATE_MAX_UPLOAD_BYTES
        return _error(413, f"the file is {upload.size / 1e6:.1f} MB, over the {limit / 1e6:.1f} MB limit")
    result = ingest.upload_clip(data=upload.read(), meta=meta, uploader=user, ip=client_ip(request))
    body: dict = {"outcome": result.outcome, "message": result.message}
    if result.clip is not None:
        body["clip"] = {"public_id": result.clip.public_id, "state": result.clip.state}
    if not result.ok or result.outcome == ingest.DUPLICATE:
        body["error"] = result.message
    return JsonResponse(body, status=result.status)
