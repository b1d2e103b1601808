"""The reviewer's workstation: pages, the JSON API the page talks to, and audio."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from annotate import instruments, wiring
from annotate.accounts import roles
from annotate.clips import audio_urls, playback
from annotate.clips.serving import wav_response
from annotate.queues import claims
from annotate.queues import selectors as queue_selectors
from annotate.queues.models import Queue, Skip
from annotate.review import selectors
from annotate.review.models import Annotation
from annotate.review.services import Submission, SubmitError, submit
from annotate.web import BadRequest, client_ip, json_body, role_required

reviewer_required = role_required(roles.REVIEWER, message=_("This page is for reviewers."))
reviewer_api = role_required(roles.REVIEWER, message=_("for reviewers only"), answer="json")


def _claim(request: HttpRequest, queue_id: int | None, servable: claims.Servable) -> list[claims.HeldTask]:
    try:
        return claims.claim_for_review(user=request.user, queue_id=queue_id, servable=servable)
    except claims.NotMember:
        raise Http404("No such queue of yours.") from None


def _page_queue(held: list[claims.HeldTask], queue_id: int | None) -> dict | None:
    """The queue the page is of (its name for the title): from a claim, or read when none is of it."""
    if queue_id is None:
        return None
    name = next((h.queue_name for h in held if h.queue_id == queue_id), None)
    if name is None:
        name = Queue.objects.filter(pk=queue_id).values_list("name", flat=True).first() or ""
    return {"id": queue_id, "name": name}


def _task_url(name: str) -> str:
    """A task URL for the page to fill in: "/review/api/tasks/{task_id}/submit"."""
    return reverse(name, kwargs={"task_id": 987654321}).replace("987654321", "{task_id}")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    queues = queue_selectors.queues_for_reviewer(user=request.user)
    return render(request, "review/home.html", {"queues": queues})


@reviewer_required
@require_GET
def review_page(
    request: HttpRequest, queue_id: int | None = None, *, servable: claims.Servable = claims.every_queue
) -> HttpResponse:
    held = _claim(request, queue_id, servable)
    state = {
        "queue_id": queue_id,
        "tasks": [selectors.task_payload(task=t, user=request.user) for t in held],
        "grades": [{"value": v, "label": str(label)} for v, label in Annotation.Grade.choices],
        "skip_reasons": [{"value": v, "label": str(label)} for v, label in Skip.Reason.choices],
        "urls": {
            "claim": reverse("review-api-claim"),
            "submit": _task_url("review-api-submit"),
            "skip": _task_url("review-api-skip"),
            "renew": _task_url("review-api-renew"),
            "home": reverse("home"),
        },
        # Undo of the last submit: the page may send a new version (amends) this long after it.
        "amend_seconds": settings.ANNOTATE_AMEND_SECONDS,
    }
    return render(
        request,
        "review/review.html",
        {
            "state": state,
            "queue": _page_queue(held, queue_id),
            "guidelines": selectors.guidelines_html(held[0].queue_guidelines) if held else "",
        },
    )


@reviewer_api
@require_POST
def api_claim(request: HttpRequest, *, servable: claims.Servable = claims.every_queue) -> JsonResponse:
    """Top up the reviewer's claims and return them all, the clip under review first."""
    try:
        body = json_body(request)
    except BadRequest as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    queue_id = body.get("queue_id")
    if queue_id is not None and not isinstance(queue_id, int):
        return JsonResponse({"error": "queue_id must be a number"}, status=400)
    with instruments.CLAIM_SECONDS.time():
        held = _claim(request, queue_id, servable)
        return JsonResponse({"tasks": [selectors.task_payload(task=t, user=request.user) for t in held]})


def _submission(body: dict) -> Submission:
    def flag(name: str) -> bool:
        value = body.get(name, False)
        if not isinstance(value, bool):
            raise SubmitError(f"{name} must be true or false")
        return value

    intent = body.get("intent_correct")
    if intent is not None and not isinstance(intent, bool):
        raise SubmitError("intent_correct must be true, false or null")
    seconds = body.get("seconds_spent", 0)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        raise SubmitError("seconds_spent must be a number")
    for name in ("idempotency_key", "corrected_text", "answer_grade"):
        if not isinstance(body.get(name, ""), str):
            raise SubmitError(f"{name} must be a string")
    listened = _number(body, "listened_fraction")
    rate = _number(body, "playback_rate")
    amends = body.get("amends")
    if amends is not None and (not isinstance(amends, int) or isinstance(amends, bool)):
        raise SubmitError("amends must be the id of your earlier annotation of this clip, or null")
    try:
        spans = wiring.call("parse_submitted_spans", raw=body.get("spans"))
    except ValueError as exc:  # a wired step refuses with ValueError and a message
        raise SubmitError(str(exc)) from None
    return Submission(
        idempotency_key=body.get("idempotency_key", ""),
        corrected_text=body.get("corrected_text", ""),
        answer_grade=body.get("answer_grade", ""),
        intent_correct=intent,
        no_speech=flag("no_speech"),
        unintelligible=flag("unintelligible"),
        other_language=flag("other_language"),
        accidental=flag("accidental"),
        seconds_spent=float(seconds),
        spans=spans,
        listened_fraction=listened,
        playback_rate=rate,
        confirmed_unheard=flag("confirmed_unheard"),
        amends=amends,
    )


def _number(body: dict, name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value != value:
        raise SubmitError(f"{name} must be a number or null")
    return float(value)


def _not_held(exc: claims.ClaimError) -> JsonResponse:
    """409: the clip is not the reviewer's any more; `reason` tells the page which message it is."""
    return JsonResponse({"error": str(exc), "reason": exc.reason}, status=409)


@reviewer_api
@require_POST
def api_submit(request: HttpRequest, task_id: int) -> JsonResponse:
    try:
        submission = _submission(json_body(request))
        with instruments.SUBMIT_SECONDS.time():
            annotation, created = submit(user=request.user, task_id=task_id, submission=submission)
    except (BadRequest, SubmitError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    except claims.ClaimError as exc:
        return _not_held(exc)
    return JsonResponse(
        {
            "annotation_id": annotation.pk,
            "created": created,
            "message": "saved" if created else "already saved",
            "wer": annotation.wer,
            "cer": annotation.cer,
        },
        status=201 if created else 200,
    )


@reviewer_api
@require_POST
def api_skip(request: HttpRequest, task_id: int) -> JsonResponse:
    try:
        body = json_body(request)
        claims.skip(
            user=request.user, task_id=task_id, reason=str(body.get("reason", "")), note=str(body.get("note", ""))
        )
    except claims.ClaimError as exc:
        return _not_held(exc)
    except (SubmitError, ValueError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"ok": True})


@reviewer_api
@require_POST
def api_renew(request: HttpRequest, task_id: int) -> JsonResponse:
    try:
        task = claims.renew(user=request.user, task_id=task_id)
    except claims.ClaimError as exc:
        return _not_held(exc)
    return JsonResponse({"lease_expires_at": task.lease_expires_at.isoformat()})


@require_GET
def audio(request: HttpRequest, token: str) -> HttpResponse:
    """The held clip's audio, decrypted on the fly, for this user and claim only.

    Forged, stale, foreign or released URLs all answer 404. Every request is audited.
    """
    if not request.user.is_authenticated:
        raise Http404
    audio_pass = audio_urls.verify(door=audio_urls.REVIEW_DOOR, token=token, user=request.user)
    if audio_pass is None or audio_pass.task_id is None:
        raise Http404
    task = selectors.held_task(user=request.user, task_id=audio_pass.task_id, clip_public_id=audio_pass.clip_public_id)
    if task is None or not task.clip.audio_name:
        raise Http404
    try:
        wav = playback.play_protected(
            clip=task.clip,
            listener=request.user,
            disguise=task.queue.disguise_voice,
            redact=task.queue.redact_personal_data,
            muffled=request.GET.get("muffled") == "1",
            ip=client_ip(request),
            details={"range": request.headers.get("Range", "")},
        )
    except FileNotFoundError:  # the protected version is missing: never the original instead
        raise Http404 from None
    return wav_response(request, wav)
