"""The REST API for the teams' pipelines (issue 18): `/api/v1/`, its OpenAPI 3 schema at
`/api/v1/openapi.json` (django-ninja). README, API, shows one example per endpoint.

Every endpoint takes a service account's token (`Authorization: Bearer ann_…`, `manage.py
create_api_token`) with the scope it needs: `ingest` (clips), `requests` (opt-outs and erasures),
`results` (the results feed), `exports` (exports and queue backfills). Errors are JSON of one
shape: `{"error": "<what to fix>", "code": "<machine code>"}` (the ingest endpoint adds
`"outcome"`); 401 without a valid token, 403 without the scope.

The ingest and privacy endpoints are the views they were before the API (same behaviour,
tests/test_ingest_api.py, tests/test_privacy.py); the schema documents them.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, NinjaAPI, Path, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from annotate.accounts.tokens import token_for_bearer
from annotate.clips import api as clips_api
from annotate.clips import crypto
from annotate.leads import selectors as lead_selectors
from annotate.leads import services as lead_services
from annotate.leads.models import Export
from annotate.privacy import api as privacy_api
from annotate.quality.models import FinalTranscript
from annotate.queues.models import Backfill, Queue
from annotate.queues.services import BackfillError
from annotate.web import client_ip

api = NinjaAPI(
    title="annotate API",
    version="1",
    description=(
        "Ingest clips, send opt-out and erasure requests, read final transcripts and entity spans as they are "
        "decided, run exports and queue backfills. Token scopes: ingest, requests, results, exports."
    ),
    urls_namespace="api-v1",
    docs_url=None,  # the schema is the documentation; no page that loads assets from elsewhere
)

MAX_ID = 2**63 - 1  # PostgreSQL's bigint: a larger id is no row, and must not reach the database
Id = Annotated[int, Path(ge=1, le=MAX_ID)]

TOKEN_MESSAGE = "missing or invalid API token (Authorization: Bearer <token>)"  # noqa: S105 (a message)


class Scope(HttpBearer):
    """A bearer token that has `scope` (403 when it lacks it, 401 when there is none)."""

    def __init__(self, scope: str):
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str):
        found = token_for_bearer(request)
        if found is None:
            return None
        if self.scope not in found.scopes:
            raise HttpError(403, f"this token may not use {self.scope}: ask for a token with that scope")
        return found.user


class Error(Schema):
    error: str
    code: str


class IngestOut(Schema):
    outcome: str
    message: str | None = None
    error: str | None = None
    clip: dict[str, Any] | None = None


def _error(request: HttpRequest, status: int, message: str, code: str) -> HttpResponse:
    return api.create_response(request, {"error": message, "code": code}, status=status)


CODES = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, TOKEN_MESSAGE, "unauthorized")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc), CODES.get(exc.status_code, "error"))


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "payload"))
    message = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid request"))
    return _error(request, 400, message, "invalid")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, str(exc) or "not found", "not_found")


# --- ingest and privacy requests: the views of before, documented ---------------------------------

INGEST_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["audio"],
                    "properties": {
                        "audio": {"type": "string", "format": "binary", "description": "the clip: WAV, MP3, OGG, …"},
                        "metadata": {"type": "string", "description": "the manifest object as JSON (or the fields)"},
                        "captured_at": {"type": "string"},
                        "locale": {"type": "string"},
                        "device_type": {"type": "string"},
                        "account_id": {"type": "string"},
                        "heard": {"type": "string"},
                        "response": {"type": "string"},
                        "intent": {"type": "string"},
                        "wake_word_score": {"type": "number"},
                        "opted_out": {"type": "boolean"},
                    },
                }
            }
        },
    },
    "security": [{"Scope": []}],
}
ACCOUNT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["account_id"],
                    "additionalProperties": False,
                    "properties": {"account_id": {"type": "string", "minLength": 1}},
                }
            }
        },
    },
    "security": [{"Scope": []}],
}
RECEIPT = dict[str, Any]


@api.post(
    "/clips",
    response={
        200: IngestOut,
        201: IngestOut,
        400: IngestOut,
        401: IngestOut,
        403: IngestOut,
        409: IngestOut,
        413: IngestOut,
        422: IngestOut,
    },  # fmt: skip
    openapi_extra=INGEST_FORM,
    summary="Ingest a clip (scope ingest)",
    tags=["ingest"],
)
def ingest_clip(request: HttpRequest):
    """201 imported, 200 opted out (not stored, counted), 409 duplicate, 400/413/422 bad input."""
    return clips_api.upload_clip(request)


@api.post(
    "/opt-outs",
    response={200: RECEIPT, 201: RECEIPT, 400: Error, 401: Error, 403: Error, 413: Error},
    openapi_extra=ACCOUNT_BODY,
    summary="Opt an account out (scope requests)",
    tags=["requests"],
)
def opt_out(request: HttpRequest):
    return privacy_api.opt_out(request)


@api.post(
    "/erasures",
    response={200: RECEIPT, 201: RECEIPT, 400: Error, 401: Error, 403: Error, 413: Error},
    openapi_extra=ACCOUNT_BODY,
    summary="Erase an account's clips and everything derived (scope requests)",
    tags=["requests"],
)
def erasure(request: HttpRequest):
    return privacy_api.erasure(request)


@api.get(
    "/privacy-requests/{public_id}",
    response={400: Error, 200: RECEIPT, 401: Error, 403: Error, 404: Error},
    openapi_extra={"security": [{"Scope": []}]},
    summary="A privacy request's receipt (scope requests)",
    tags=["requests"],
)
def privacy_request(request: HttpRequest, public_id: str):
    return privacy_api.request_receipt(request, public_id)


OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE"]


@api.api_operation(OTHER_METHODS, "/opt-outs", include_in_schema=False)
def opt_out_other(request: HttpRequest):
    return privacy_api.opt_out(request)  # 405, {"error": "use POST here"}


@api.api_operation(OTHER_METHODS, "/erasures", include_in_schema=False)
def erasure_other(request: HttpRequest):
    return privacy_api.erasure(request)


@api.api_operation(["POST", "PUT", "PATCH", "DELETE"], "/privacy-requests/{public_id}", include_in_schema=False)
def privacy_request_other(request: HttpRequest, public_id: str):
    return privacy_api.request_receipt(request, public_id)


# --- results -------------------------------------------------------------------------------------


class Span(Schema):
    start: int
    end: int
    text: str
    kind: str
    entity: dict[str, Any] | None
    not_in_catalog_name: str
    needs_recheck: bool
    source: str


class Result(Schema):
    clip: str
    text: str
    source: str
    decided_at: datetime
    locale: str
    spans: list[Span] | None
    grades: dict[str, int]


class ResultPage(Schema):
    results: list[Result]
    next_cursor: str | None


class ResultQuery(Schema):
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(100, description="1 to 500")


def _cursor(final: FinalTranscript) -> str:
    return base64.urlsafe_b64encode(f"{final.decided_at.isoformat()}|{final.pk}".encode()).decode()


def _after(cursor: str) -> tuple[datetime, int]:
    try:
        when, _, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(when), int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise HttpError(400, "cursor is not one this API gave") from None


@api.get(
    "/results",
    auth=Scope("results"),
    response={200: ResultPage, 400: Error, 401: Error, 403: Error},
    summary="Final transcripts, entity spans and grades as they are decided (scope results)",
    tags=["results"],
)
def results(request: HttpRequest, query: Query[ResultQuery]):
    """Clips fit for training (reviewed, final, not flagged, not accidental, inside retention), oldest
    decision first. Read from `next_cursor` on: a clip decided again (a lead's adjudication) comes
    again. `spans` is null when the final text is no reviewer's (a lead's edit): unknown, not none."""
    if not 1 <= query.limit <= 500:
        raise HttpError(400, "limit must be between 1 and 500")
    finals = lead_selectors.exportable_finals().order_by("decided_at", "pk")
    if query.cursor:
        when, pk = _after(query.cursor)
        finals = finals.filter(decided_at__gt=when) | finals.filter(decided_at=when, pk__gt=pk)
        finals = finals.order_by("decided_at", "pk")
    page = list(finals[: query.limit])
    return {
        "results": lead_selectors.results_of(page),
        "next_cursor": _cursor(page[-1]) if len(page) == query.limit else None,
    }


# --- exports and backfills ---------------------------------------------------------------------------


class ExportIn(Schema):
    format: Literal["jsonl", "csv", "nemo", "hf", "labelstudio"]
    queue_id: int | None = Field(None, ge=1, le=MAX_ID)


class ExportOut(Schema):
    id: int
    state: str
    format: str
    progress: float
    done: int
    total: int
    clip_count: int
    size_bytes: int | None
    error: str
    expires_at: str | None
    note: str
    download_url: str | None


def _export_out(export: Export) -> dict[str, Any]:
    out = lead_selectors.export_json(export)
    out["download_url"] = f"/api/v1/exports/{export.pk}/download" if out["download_url"] else None
    return out


@api.post(
    "/exports",
    auth=Scope("exports"),
    response={202: ExportOut, 400: Error, 401: Error, 403: Error, 404: Error},
    summary="Start an export (scope exports)",
    tags=["exports"],
)
def start_export(request: HttpRequest, body: ExportIn):
    queue = get_object_or_404(Queue, pk=body.queue_id) if body.queue_id is not None else None
    export = lead_services.request_export(lead=request.auth, fmt=body.format, queue=queue, ip=client_ip(request))
    return Status(202, _export_out(export))


@api.get(
    "/exports/{export_id}",
    auth=Scope("exports"),
    response={400: Error, 200: ExportOut, 401: Error, 403: Error, 404: Error},
    summary="An export's state and progress (scope exports)",
    tags=["exports"],
)
def export_status(request: HttpRequest, export_id: Id):
    return _export_out(get_object_or_404(Export, pk=export_id))


@api.get(
    "/exports/{export_id}/download",
    auth=Scope("exports"),
    response={400: Error, 200: None, 401: Error, 403: Error, 404: Error, 409: Error, 410: Error},
    openapi_extra={
        "responses": {
            "200": {
                "description": "the zip",
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
    summary="Download a finished export's zip (scope exports)",
    tags=["exports"],
)
def export_download(request: HttpRequest, export_id: Id):
    export = get_object_or_404(Export, pk=export_id)
    if export.current_state in (Export.State.EXPIRED, Export.State.WITHDRAWN):
        raise HttpError(410, f"export {export.pk} is {export.current_state}: its file was deleted")
    if not export.is_downloadable():
        raise HttpError(409, f"export {export.pk} is {export.current_state}: not ready to download")
    try:
        chunks = lead_services.open_export(export=export, lead=request.auth, ip=client_ip(request))
    except crypto.DecryptionError:
        raise HttpError(409, f"export {export.pk} cannot be read (its key was retired)") from None
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="annotate-export-{export.pk}.zip"'
    response["Cache-Control"] = "no-store"
    return response


class BackfillIn(Schema):
    days: int = Field(7, ge=1, le=90, description="how many days back")
    cap: int = Field(1000, ge=1, le=1_000_000, description="at most this many clips")


class BackfillOut(Schema):
    id: int
    state: str
    state_label: str
    days: int
    cap: int
    matching: int
    considered: int
    added: int
    progress: float
    expected: int
    error: str
    status_url: str


def _backfill_out(backfill: Backfill) -> dict[str, Any]:
    out = lead_selectors.backfill_json(backfill)
    out["status_url"] = f"/api/v1/queues/{backfill.queue_id}/backfills/{backfill.pk}"
    return out


@api.post(
    "/queues/{queue_id}/backfills",
    auth=Scope("exports"),
    response={202: BackfillOut, 400: Error, 401: Error, 403: Error, 404: Error},
    summary="Fill a queue with matching clips ingested before it (scope exports)",
    tags=["queues"],
)
def start_backfill(request: HttpRequest, queue_id: Id, body: BackfillIn):
    queue = get_object_or_404(Queue, pk=queue_id)
    try:
        backfill = lead_services.backfill(
            queue=queue, lead=request.auth, days=body.days, cap=body.cap, ip=client_ip(request)
        )
    except BackfillError as exc:
        raise HttpError(400, str(exc)) from None
    return Status(202, _backfill_out(backfill))


@api.get(
    "/queues/{queue_id}/backfills/{backfill_id}",
    auth=Scope("exports"),
    response={400: Error, 200: BackfillOut, 401: Error, 403: Error, 404: Error},
    summary="A backfill's progress (scope exports)",
    tags=["queues"],
)
def backfill_status(request: HttpRequest, queue_id: Id, backfill_id: Id):
    return _backfill_out(get_object_or_404(Backfill, pk=backfill_id, queue_id=queue_id))
