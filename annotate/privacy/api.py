"""Privacy requests from the upstream pipeline, over the token API (the ingest door's tokens).

POST /api/v1/opt-outs        {"account_id": "..."}   the account opts out: later clips are dropped
                                                      at ingest, earlier ones erased
POST /api/v1/erasures        {"account_id": "..."}   erasure (GDPR Art. 17): every clip and all that
                                                      was derived from it; later clips dropped too
GET  /api/v1/privacy-requests/<id>                   the receipt, again

201 with the receipt for a new request; 200 with the first receipt when the same
kind was already asked for that account (idempotent). Errors, each a JSON object with
an "error" message: 400 (bad body), 401 (no or bad token), 403 (not the pipeline),
404 (unknown request), 405 (wrong method), 413 (body over 4 kB).
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from annotate.accounts import roles
from annotate.accounts.tokens import token_for_bearer
from annotate.privacy import selectors, services
from annotate.privacy.models import PrivacyRequest
from annotate.web import client_ip

MAX_BODY = 4096


CODES = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         413: "too_large"}  # fmt: skip


def _error(status: int, message: str) -> JsonResponse:
    """The API's one error shape (annotate/api.py): what to fix, and a machine code."""
    return JsonResponse({"error": message, "code": CODES.get(status, "error")}, status=status)


def _wrong_method(request: HttpRequest, allowed: str) -> JsonResponse | None:
    if request.method == allowed:
        return None
    response = _error(405, f"use {allowed} here")
    response["Allow"] = allowed
    return response


def _pipeline(request: HttpRequest):
    """(user, None) for a pipeline token, else (None, the error response)."""
    token = token_for_bearer(request)
    if token is None:
        return None, _error(401, "missing or invalid API token (Authorization: Bearer <token>)")
    if not roles.has_role(token.user, roles.INGEST):
        return None, _error(403, "this account may not send privacy requests (only the ingest pipeline may)")
    if "requests" not in token.scopes:
        return None, _error(403, "this token may not send privacy requests: ask for one with the scope requests")
    return token.user, None


def _submit(request: HttpRequest, kind: str) -> JsonResponse:
    wrong = _wrong_method(request, "POST")
    if wrong is not None:
        return wrong
    user, refused = _pipeline(request)
    if refused is not None:
        return refused
    if len(request.body) > MAX_BODY:
        return _error(413, f"the body is over {MAX_BODY} bytes")
    try:
        body = json.loads(request.body or b"")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, 'the body must be JSON: {"account_id": "..."}')
    if not isinstance(body, dict) or set(body) - {"account_id"}:
        return _error(400, 'the body must be a JSON object with one field: {"account_id": "..."}')
    try:
        made, created = services.submit(
            kind=kind,
            account_id=body.get("account_id"),
            source=PrivacyRequest.Source.API,
            actor=user,
            ip=client_ip(request),
        )
    except services.PrivacyError as exc:
        return _error(400, str(exc))
    return JsonResponse(selectors.receipt(made), status=201 if created else 200)


@csrf_exempt
def opt_out(request: HttpRequest) -> JsonResponse:
    return _submit(request, PrivacyRequest.Kind.OPT_OUT)


@csrf_exempt
def erasure(request: HttpRequest) -> JsonResponse:
    return _submit(request, PrivacyRequest.Kind.ERASURE)


def request_receipt(request: HttpRequest, public_id: str) -> JsonResponse:
    wrong = _wrong_method(request, "GET")
    if wrong is not None:
        return wrong
    _, refused = _pipeline(request)
    if refused is not None:
        return refused
    found = selectors.find(public_id)
    if found is None:
        return _error(404, f"no privacy request {public_id}")
    return JsonResponse(selectors.receipt(found))
