"""Catalog search and suggestions for the review page; utterance mining for leads.

JSON endpoints answer 401 to the anonymous and 403 to the wrong role, never a
redirect. Mining shows transcript text only: no audio, no clip or account ids.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from annotate.accounts import roles
from annotate.catalog import selectors, services
from annotate.catalog.models import EntityKind
from annotate.web import BadRequest, client_ip, json_body, role_required

MAX_SUGGEST_TEXT = 5000
MINING_SOURCES = ("all", "reviewed", "machine")


catalog_api = role_required(roles.REVIEWER, roles.LEAD, message=_("for reviewers and leads only"), answer="json")
lead_api = role_required(roles.LEAD, message=_("for leads only"), answer="json")
lead_required = role_required(roles.LEAD, message=_("This page is for team leads."))


def _kind(slug: str | None) -> EntityKind | None:
    if not slug:
        return None
    kind = selectors.kind_by_slug(slug)
    if kind is None:
        raise BadRequest(gettext("unknown kind %(kind)r") % {"kind": slug})
    return kind


def _int_param(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(gettext("%(name)s must be a whole number") % {"name": name}) from None


# --- for reviewers and leads ------------------------------------------------------------


@catalog_api
@require_GET
def api_kinds(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"kinds": selectors.kinds()})


@catalog_api
@require_GET
def api_search(request: HttpRequest) -> JsonResponse:
    """GET ?q=taylor swift&kind=artist&limit=8 → {"results": [{id, name, kind, aliases, score, …}]}"""
    try:
        kind = _kind(request.GET.get("kind"))
        limit = _int_param(request, "limit", 8)
    except BadRequest as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    results = selectors.search_entities(query=request.GET.get("q", ""), kind=kind, limit=limit)
    return JsonResponse({"results": results})


@catalog_api
@require_POST
def api_suggest(request: HttpRequest) -> JsonResponse:
    """POST {"text"} → {"suggestions": [{start, end, text, kind, entity, alternatives}]}"""
    try:
        body = json_body(request)
    except BadRequest as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    text = body.get("text", "")
    if not isinstance(text, str) or len(text) > MAX_SUGGEST_TEXT:
        return JsonResponse(
            {"error": gettext("text must be a string of at most %(max)s characters") % {"max": MAX_SUGGEST_TEXT}},
            status=400,
        )
    return JsonResponse({"suggestions": selectors.suggest_spans(text=text)})


# --- mining, for leads -------------------------------------------------------------------


@lead_required
@require_GET
def mine_page(request: HttpRequest) -> HttpResponse:
    state = {
        "kinds": selectors.kinds(),
        "urls": {
            "search": reverse("catalog-api-mine"),
            "apply": reverse("catalog-api-mine-apply"),
            "batches": reverse("catalog-api-mine-batches"),
            "undo": reverse("catalog-api-mine-undo", kwargs={"batch_id": 987654321}).replace("987654321", "{batch_id}"),
            "catalog": reverse("catalog-api-search"),
        },
    }
    return render(request, "catalog/mine.html", {"state": state})


@lead_api
@require_GET
def api_mine(request: HttpRequest) -> JsonResponse:
    """GET ?q=taylor swift&source=all|reviewed|machine&page=1 → matches in context, a page at a time."""
    phrase = request.GET.get("q", "").strip()
    source = request.GET.get("source", "all")
    try:
        page = _int_param(request, "page", 1)
        per_page = max(1, min(_int_param(request, "per_page", 50), 200))
    except BadRequest as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if source not in MINING_SOURCES:
        return JsonResponse(
            {"error": gettext("source must be one of %(sources)s") % {"sources": ", ".join(MINING_SOURCES)}}, status=400
        )
    if len(phrase) < 2 or len(phrase) > 200:
        return JsonResponse({"error": gettext("type a phrase of 2 to 200 characters")}, status=400)
    result = services.search_mining(
        user=request.user, phrase=phrase, source=source, page=page, per_page=per_page, ip=client_ip(request)
    )
    return JsonResponse(result)


@lead_api
@require_POST
def api_mine_apply(request: HttpRequest) -> JsonResponse:
    """POST {phrase, matches: [{source, id, start, end}], kind, entity_id, not_in_catalog_name}"""
    try:
        body = json_body(request)
        for name in ("phrase", "kind", "not_in_catalog_name"):
            if not isinstance(body.get(name, ""), str):
                raise BadRequest(gettext("%(name)s must be a string") % {"name": name})
        batch, skipped = services.apply_mining(
            user=request.user,
            phrase=body.get("phrase", ""),
            matches=body.get("matches"),
            kind=body.get("kind", ""),
            entity_id=body.get("entity_id"),
            not_in_catalog_name=body.get("not_in_catalog_name", ""),
            ip=client_ip(request),
        )
    except (BadRequest, services.MiningError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"batch_id": batch.pk, "created": batch.created_count, "skipped": skipped}, status=201)


@lead_api
@require_GET
def api_mine_batches(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"batches": selectors.recent_batches()})


@lead_api
@require_POST
def api_mine_undo(request: HttpRequest, batch_id: int) -> JsonResponse:
    try:
        removed = services.undo_mining(user=request.user, batch_id=batch_id, ip=client_ip(request))
    except services.BatchNotFound as exc:
        return JsonResponse({"error": str(exc)}, status=404)
    except services.MiningError as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    return JsonResponse({"batch_id": batch_id, "removed": removed})
