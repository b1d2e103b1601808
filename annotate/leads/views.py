"""The team lead's console: dashboard, queues, people, gold, adjudication, inbox, exports.

Who reaches what (checked in one decorator each, tested role by role):

| endpoint | who |
|---|---|
| /lead/api/second-opinions (ask, read my answers) | reviewers |
| everything else under /lead/ | team leads |

Pages send the anonymous to sign in and answer 403 to other roles; JSON
endpoints answer 401 / 403. Leads never see who was recorded: clips are named
by their random public id, and nothing here reads the sealed identity.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate.accounts import roles
from annotate.clips import audio_urls, playback
from annotate.clips.models import Clip
from annotate.clips.serving import wav_response
from annotate.escalation.models import Category, Severity
from annotate.leads import guards, selectors, services
from annotate.leads.forms import AdjudicationForm, AnswerForm, ExportForm, GoldForm, QueueForm
from annotate.leads.models import Export, SecondOpinion
from annotate.leads.routing import DASHBOARD_SOCKET
from annotate.queues.models import Backfill, GoldClip, Queue
from annotate.queues.services import BackfillError
from annotate.web import client_ip, json_body, role_required

# --- access ------------------------------------------------------------------------------------------


lead_required = role_required(roles.LEAD, message=_("This console is for team leads."))
lead_api = role_required(roles.LEAD, message=_("for team leads only"), answer="json")
reviewer_api = role_required(roles.REVIEWER, message=_("for reviewers only"), answer="json")


def _get_queue_for_lead(request: HttpRequest, queue_id: int) -> Queue:
    return get_object_or_404(Queue, pk=queue_id)


def _get_clip_for_lead(request: HttpRequest, public_id: str) -> Clip:
    """A clip a lead may look at (selectors.clip_in_console), else 404."""
    clip = selectors.clip_in_console(public_id)
    if clip is None:
        raise Http404
    return clip


def _period(days: int) -> str:
    """ "the last 7 days", in the lead's language."""
    return ngettext("the last %(days)s day", "the last %(days)s days", days) % {"days": days}


def lead_audio_url(*, clip: Clip, user) -> str:
    token = audio_urls.sign(door=audio_urls.LEAD_DOOR, user=user, clip_public_id=clip.public_id)
    return reverse("lead-audio", args=[token])


# --- dashboard -------------------------------------------------------------------------------------------


@lead_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "leads/dashboard.html",
        {
            "snapshot": selectors.dashboard(),
            "section": "dashboard",
            "socket_path": f"/{DASHBOARD_SOCKET}",
            # The snapshot names flag categories and severities by value (the WebSocket pushes one
            # snapshot to every lead): their words in this lead's language.
            "labels": {"category": dict(Category.choices), "severity": dict(Severity.choices)},
        },
    )


@lead_api
@require_GET
@never_cache
def dashboard_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(selectors.dashboard())


# --- queues ------------------------------------------------------------------------------------------------


@lead_required
@require_GET
def queue_list(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/queues.html", {"queues": selectors.queues_with_numbers(), "section": "queues"})


def _preview(form: QueueForm) -> dict | None:
    data = form.cleaned_data if form.is_bound and form.is_valid() else None
    if data is None and form.instance.pk:
        q = form.instance
        return selectors.preview_matching(locales=q.locales, device_types=q.device_types, sample_rate=q.sample_rate)
    if data is None:
        return selectors.preview_matching(locales=[], device_types=[], sample_rate=1.0)
    return selectors.preview_matching(
        locales=data["locales"], device_types=data["device_types"], sample_rate=data["sample_rate"]
    )


@lead_required
@require_http_methods(["GET", "POST"])
def queue_create(request: HttpRequest) -> HttpResponse:
    form = QueueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        queue = services.create_queue(lead=request.user, data=form.cleaned_data, ip=client_ip(request))
        messages.success(request, gettext("Queue “%(name)s” created. Add its reviewers below.") % {"name": queue.name})
        return redirect("lead-queue", queue.pk)
    return render(
        request,
        "leads/queue_form.html",
        {"form": form, "queue": None, "preview": _preview(form), "section": "queues"},
        status=400 if form.is_bound else 200,
    )


@lead_required
@require_http_methods(["GET", "POST"])
def queue_edit(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue = _get_queue_for_lead(request, queue_id)
    form = QueueForm(request.POST or None, instance=Queue.objects.get(pk=queue.pk))
    if request.method == "POST" and form.is_valid():
        services.update_queue(queue=queue, lead=request.user, data=form.cleaned_data, ip=client_ip(request))
        messages.success(request, gettext("Queue saved."))
        return redirect("lead-queue", queue.pk)
    return render(
        request,
        "leads/queue_form.html",
        {"form": form, "queue": queue, "preview": _preview(form), "section": "queues"},
        status=400 if form.is_bound else 200,
    )


@lead_required
@require_GET
def queue_detail(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue = _get_queue_for_lead(request, queue_id)
    numbers = selectors.queues_with_numbers().get(pk=queue.pk)
    return render(
        request,
        "leads/queue_detail.html",
        {
            "queue": numbers,
            "members": queue.members.order_by("username"),
            "candidates": selectors.reviewers_not_in(queue),
            "golds": selectors.gold_clips(queue),
            "gold_form": GoldForm(),
            "backfill_preview": selectors.backfill_preview(queue),
            "backfills": [selectors.backfill_json(b) for b in queue.backfills.all()[:10]],
            "section": "queues",
        },
    )


@lead_required
@require_POST
def backfill_create(request: HttpRequest, queue_id: int) -> HttpResponse:
    """Fill the queue with matching clips ingested before it (a job; progress on the queue's page)."""
    queue = _get_queue_for_lead(request, queue_id)
    try:
        days = int(request.POST.get("days", "7"))
        cap = int(request.POST.get("cap", "1000"))
    except ValueError:
        messages.error(request, gettext("Days and the cap must be whole numbers."))
        return redirect("lead-queue", queue.pk)
    try:
        backfill = services.backfill(queue=queue, lead=request.user, days=days, cap=cap, ip=client_ip(request))
    except BackfillError as exc:
        messages.error(request, gettext("No backfill: %(reason)s.") % {"reason": exc})
    else:
        messages.success(
            request,
            ngettext(
                "Backfill %(id)s: %(n)s clip of %(period)s matches; "
                "at most %(cap)s will be added, at the queue's sampling rate.",
                "Backfill %(id)s: %(n)s clips of %(period)s match; "
                "at most %(cap)s will be added, at the queue's sampling rate.",
                backfill.matching,
            )
            % {"id": backfill.pk, "n": backfill.matching, "period": _period(backfill.days), "cap": backfill.cap},
        )
    return redirect(reverse("lead-queue", args=[queue.pk]) + "#backfill")


@lead_api
@require_GET
def backfill_status(request: HttpRequest, queue_id: int, backfill_id: int) -> JsonResponse:
    backfill = get_object_or_404(Backfill, pk=backfill_id, queue_id=queue_id)
    return JsonResponse(selectors.backfill_json(backfill))


@lead_api
@require_GET
def queue_preview(request: HttpRequest) -> JsonResponse:
    """How many recent clips a sampling rule would match (for the queue form, as the lead types)."""
    form = QueueForm(
        {
            "locales": request.GET.get("locales", ""),
            "device_types": request.GET.get("device_types", ""),
        }
    )
    form.is_valid()
    errors = {name: form.errors[name] for name in ("locales", "device_types") if name in form.errors}
    if errors:
        return JsonResponse({"error": "; ".join(str(e[0]) for e in errors.values())}, status=400)
    try:
        rate = float(request.GET.get("sample_rate", "1"))
        days = int(request.GET.get("days", "7"))
    except ValueError:
        return JsonResponse({"error": gettext("sample_rate and days must be numbers")}, status=400)
    days = min(max(days, 1), 90)
    return JsonResponse(
        selectors.preview_matching(
            locales=form.cleaned_data["locales"],
            device_types=form.cleaned_data["device_types"],
            sample_rate=rate,
            days=days,
        )
    )


@lead_required
@require_POST
def queue_archive(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue = _get_queue_for_lead(request, queue_id)
    archived = request.POST.get("archived", "1") == "1"
    services.set_archived(queue=queue, lead=request.user, archived=archived, ip=client_ip(request))
    messages.success(request, gettext("Queue archived.") if archived else gettext("Queue back in service."))
    return redirect("lead-queue", queue.pk)


@lead_required
@require_POST
def member_add(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue = _get_queue_for_lead(request, queue_id)
    try:
        reviewer = get_user_model().objects.get(pk=int(request.POST.get("user", "")))
        services.add_member(queue=queue, reviewer=reviewer, lead=request.user, ip=client_ip(request))
    except services.ConsoleError as exc:
        messages.error(request, str(exc))
    except (ValueError, get_user_model().DoesNotExist):
        messages.error(request, gettext("Pick a reviewer to add."))
    else:
        messages.success(request, gettext("%(name)s now reviews this queue.") % {"name": reviewer.get_username()})
    return redirect("lead-queue", queue.pk)


@lead_required
@require_POST
def member_remove(request: HttpRequest, queue_id: int, user_id: int) -> HttpResponse:
    queue = _get_queue_for_lead(request, queue_id)
    reviewer = get_object_or_404(get_user_model(), pk=user_id, review_queues=queue)
    released = services.remove_member(queue=queue, reviewer=reviewer, lead=request.user, ip=client_ip(request))
    if released:
        message = ngettext(
            "%(name)s no longer reviews this queue (%(n)s held clip went back to the queue).",
            "%(name)s no longer reviews this queue (%(n)s held clips went back to the queue).",
            released,
        )
    else:
        message = gettext("%(name)s no longer reviews this queue.")
    messages.success(request, message % {"name": reviewer.get_username(), "n": released})
    return redirect("lead-queue", queue.pk)


@lead_required
@require_POST
def gold_add(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue = _get_queue_for_lead(request, queue_id)
    form = GoldForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Give the clip id and its reference transcript."))
        return redirect("lead-queue", queue.pk)
    clip = selectors.clip_for_gold(form.cleaned_data["clip"].strip())
    if clip is None:
        messages.error(request, gettext("No such clip."))
        return redirect("lead-queue", queue.pk)
    try:
        services.add_gold(
            queue=queue,
            clip=clip,
            reference_text=form.cleaned_data["reference_text"],
            lead=request.user,
            ip=client_ip(request),
        )
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, gettext("%(clip)s is a gold clip of this queue.") % {"clip": clip.public_id})
    return redirect("lead-queue", queue.pk)


@lead_required
@require_POST
def gold_retire(request: HttpRequest, queue_id: int, gold_id: int) -> HttpResponse:
    queue = _get_queue_for_lead(request, queue_id)
    gold = get_object_or_404(GoldClip.objects.select_related("clip"), pk=gold_id, queue=queue)
    services.retire_gold(gold=gold, lead=request.user, ip=client_ip(request))
    messages.success(request, gettext("%(clip)s is no longer served as gold.") % {"clip": gold.clip.public_id})
    return redirect("lead-queue", queue.pk)


# --- adjudication ----------------------------------------------------------------------------------------


@lead_required
@require_GET
def adjudication_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "leads/adjudication_list.html",
        {"disagreements": selectors.disagreements()[:200], "section": "adjudicate"},
    )


@lead_required
@require_http_methods(["GET", "POST"])
def adjudicate(request: HttpRequest, public_id: str) -> HttpResponse:
    clip = _get_clip_for_lead(request, public_id)
    context = selectors.clip_for_adjudication(clip)
    form = AdjudicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        annotation = None
        if form.cleaned_data.get("annotation"):
            annotation = next((a for a in context["annotations"] if a.pk == form.cleaned_data["annotation"]), None)
        gold_queue_id = form.cleaned_data.get("gold_queue")
        gold_queue = get_object_or_404(Queue, pk=gold_queue_id) if gold_queue_id else None
        try:
            services.adjudicate(
                clip=clip,
                text=form.cleaned_data["text"],
                lead=request.user,
                annotation=annotation,
                gold_queue=gold_queue,
                ip=client_ip(request),
            )
        except ValueError as exc:
            form.add_error("text", str(exc))
        else:
            messages.success(request, gettext("Final transcript of %(clip)s saved.") % {"clip": clip.public_id})
            following = selectors.disagreements().exclude(clip=clip).first()
            return redirect("lead-adjudicate", following.clip.public_id) if following else redirect("lead-adjudication")
    services.log_adjudication_view(clip=clip, lead=request.user, ip=client_ip(request))
    return render(
        request,
        "leads/adjudicate.html",
        {
            **context,
            "clip": clip,
            "form": form,
            "audio_url": lead_audio_url(clip=clip, user=request.user) if clip.audio_name else None,
            "queues": selectors.open_queues(),
            "section": "adjudicate",
        },
        status=400 if form.is_bound else 200,
    )


# --- screening: what the Whisper worker decided before anyone listened ------------------------------------------


@lead_required
@require_GET
def screening(request: HttpRequest) -> HttpResponse:
    page = request.GET.get("page", "1")
    return render(
        request,
        "leads/screening.html",
        {
            **selectors.screenings(decision=request.GET.get("decision", ""), page=int(page) if page.isdigit() else 1),
            "section": "screening",
        },
    )


# --- second opinions: the lead's inbox ------------------------------------------------------------------------


@lead_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/inbox.html", {**selectors.inbox(), "section": "inbox"})


@lead_required
@require_http_methods(["GET", "POST"])
def inbox_item(request: HttpRequest, opinion_id: int) -> HttpResponse:
    opinion = get_object_or_404(
        SecondOpinion.objects.select_related("clip", "asked_by", "queue", "answered_by"), pk=opinion_id
    )
    clip = opinion.clip
    if guards.is_flagged(clip.pk):
        raise Http404
    form = AnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.answer(opinion=opinion, lead=request.user, text=form.cleaned_data["answer"], ip=client_ip(request))
        except services.ConsoleError as exc:
            form.add_error("answer", str(exc))
        else:
            messages.success(request, gettext("Answer sent to %(name)s.") % {"name": opinion.asked_by.get_username()})
            return redirect("lead-inbox")
    services.log_question_view(opinion=opinion, lead=request.user, ip=client_ip(request))
    transcripts = list(clip.machine_transcripts.order_by("-created_at"))
    return render(
        request,
        "leads/inbox_item.html",
        {
            "opinion": opinion,
            "clip": clip,
            "whisper": transcripts[0] if transcripts else None,
            "annotations": selectors.annotations_of(clip),
            "audio_url": lead_audio_url(clip=clip, user=request.user) if clip.audio_name else None,
            "form": form,
            "section": "inbox",
        },
        status=400 if form.is_bound else 200,
    )


# --- second opinions: the reviewer's side (static/review/ask.js) -----------------------------------------------


@reviewer_api
@require_http_methods(["GET", "POST"])
def second_opinions(request: HttpRequest) -> JsonResponse:
    """POST {task_id, question, moment?}: ask a lead. GET [?task_id=]: my questions and their answers."""
    if request.method == "GET":
        task_id = request.GET.get("task_id")
        if task_id is not None and not task_id.isdigit():
            return JsonResponse({"error": gettext("task_id must be a number")}, status=400)
        questions = list(selectors.questions_of(user=request.user, task_id=int(task_id) if task_id else None)[:50])
        payload = [selectors.question_json(q) for q in questions]
        services.mark_seen(user=request.user, ids=[q.pk for q in questions if q.answered_at and not q.seen_at])
        return JsonResponse({"questions": payload})
    try:
        body = json_body(request)
        task_id, moment = body.get("task_id"), body.get("moment")
        if not isinstance(task_id, int) or isinstance(task_id, bool):
            raise ValueError(gettext("task_id must be a number"))
        if moment is not None and (not isinstance(moment, int | float) or isinstance(moment, bool)):
            raise ValueError(gettext("moment must be a number of seconds, or null"))
        if not isinstance(body.get("question", ""), str):
            raise ValueError(gettext("question must be a string"))
        opinion = services.ask(
            user=request.user,
            task_id=task_id,
            question=body.get("question", ""),
            moment=float(moment) if moment is not None else None,
            ip=client_ip(request),
        )
    except LookupError as exc:
        return JsonResponse({"error": str(exc)}, status=404)
    except ValueError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(selectors.question_json(opinion), status=201)


# --- audio for leads ---------------------------------------------------------------------------------------


@require_GET
def audio(request: HttpRequest, token: str) -> HttpResponse:
    """A clip's audio for the lead who got the URL: short-lived, no-store, audited; else 404."""
    if not roles.has_role(request.user, roles.LEAD):
        raise Http404
    audio_pass = audio_urls.verify(door=audio_urls.LEAD_DOOR, token=token, user=request.user)
    if audio_pass is None:
        raise Http404
    clip = _get_clip_for_lead(request, audio_pass.clip_public_id)
    if not clip.audio_name:
        raise Http404
    try:  # leads hear what reviewers hear at the most: voice disguised, personal data bleeped
        wav = playback.play_protected(
            clip=clip,
            listener=request.user,
            disguise=True,
            redact=True,
            muffled=False,
            ip=client_ip(request),
            details={"as": "lead", "range": request.headers.get("Range", "")},
        )
    except FileNotFoundError:
        raise Http404 from None
    return wav_response(request, wav)


# --- exports ---------------------------------------------------------------------------------------------------


@lead_required
@require_http_methods(["GET", "POST"])
def exports(request: HttpRequest) -> HttpResponse:
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.request_export(
            lead=request.user, fmt=form.cleaned_data["format"], queue=form.cleaned_data["queue"], ip=client_ip(request)
        )
        messages.success(request, gettext("Export started: its progress shows below."))
        return redirect("lead-exports")
    return render(
        request,
        "leads/exports.html",
        {
            "form": form,
            "exports": selectors.recent_exports(),
            "eligible": selectors.exportable_finals().count(),
            "retention_days": settings.ANNOTATE_RETENTION_DAYS,
            "ttl_days": settings.ANNOTATE_EXPORT_TTL_DAYS,
            "section": "exports",
        },
        status=400 if form.is_bound else 200,
    )


@lead_api
@require_GET
@never_cache
def export_status(request: HttpRequest, export_id: int) -> JsonResponse:
    return JsonResponse(selectors.export_json(get_object_or_404(Export, pk=export_id)))


def _export_gone(request: HttpRequest, export: Export) -> HttpResponse:
    """410, saying why: the export expired, or every clip in it was withdrawn."""
    if export.state == Export.State.WITHDRAWN:
        message = gettext(
            "Export %(id)s was withdrawn: every clip in it was erased or purged, and its file deleted."
        ) % {"id": export.pk}
    else:
        when = date_format(timezone.localtime(export.expires_at or timezone.now()), "DATETIME_FORMAT")
        days = settings.ANNOTATE_EXPORT_TTL_DAYS
        message = ngettext(
            "Export %(id)s expired on %(when)s and its file was deleted (exports are kept %(days)s day). "
            "Start a new export for a fresh copy.",
            "Export %(id)s expired on %(when)s and its file was deleted (exports are kept %(days)s days). "
            "Start a new export for a fresh copy.",
            days,
        ) % {"id": export.pk, "when": when, "days": days}
    return render(request, "leads/export_gone.html", {"message": message, "section": "exports"}, status=410)


@lead_required
@require_GET
def export_download(request: HttpRequest, export_id: int) -> HttpResponse:
    """The zip, decrypted as it is streamed; its length is known, so the browser shows progress."""
    export = get_object_or_404(Export, pk=export_id)
    if export.is_expired() or export.state == Export.State.WITHDRAWN:
        return _export_gone(request, export)  # 410
    if not export.is_downloadable() or not default_storage.exists(export.file_name):
        raise Http404  # not finished
    response = StreamingHttpResponse(
        services.open_export(export=export, lead=request.user, ip=client_ip(request)),
        content_type="application/zip",
    )
    response["Content-Length"] = str(export.size_bytes)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"annotate-export-{export.pk}-{export.format}.zip"
    )
    response["Cache-Control"] = "no-store, private"
    return response
