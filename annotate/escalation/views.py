"""Flags, the officer console, case pages, unsealing, evidence, and reviewer care.

Who reaches what (each checked in one decorator, tested role by role):

| endpoint | who |
|---|---|
| POST /cases/api/flags, GET /cases/api/receipts, /cases/care/… | reviewers |
| /cases/exposure/… | team leads |
| everything else under /cases/ | escalation officers |

An anonymous request is sent to sign in (pages, forms) or answered 401 (JSON);
a signed-in user of another role gets 403. Endpoints answer JSON when the
request is JSON (Content-Type or Accept), else HTML.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from annotate.accounts import roles
from annotate.clips.serving import wav_response
from annotate.escalation import care as reviewer_care
from annotate.escalation import evidence, selectors, services
from annotate.escalation.models import Case, EvidenceExport, UnsealRequest
from annotate.escalation.routing import CASES_SOCKET
from annotate.queues.claims import ClaimError
from annotate.web import BadRequest, client_ip, form_or_json, json_body, role_required, wants_json

# --- access ---------------------------------------------------------------------------------------


officer_required = role_required(roles.OFFICER, message=_("This is for escalation officers."), answer="either")
reviewer_required = role_required(roles.REVIEWER, message=_("This is for reviewers."), answer="either")
lead_required = role_required(roles.LEAD, message=_("This is for team leads."), answer="either")


def _get_case_for_officer(request: HttpRequest, case_id: int) -> Case:
    """Every officer may work every case; the role check is the decorator's."""
    return get_object_or_404(Case.objects.select_related("clip", "owner"), pk=case_id)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- the reviewer's flag and receipts ------------------------------------------------------------


@reviewer_required
@require_POST
def api_flag(request: HttpRequest) -> JsonResponse:
    """Flag the clip of a held task: {task_id, category, severity?, note?, moment_seconds?, draft?}."""
    try:
        body = json_body(request)
        task_id = body.get("task_id")
        if not isinstance(task_id, int) or isinstance(task_id, bool):
            raise services.CaseError(gettext("task_id must be the number of the task you hold"))
        for name in ("category", "severity", "note"):
            if not isinstance(body.get(name, ""), str):
                raise services.CaseError(gettext("%(name)s must be text") % {"name": name})
        flag = services.flag_clip(
            user=request.user,
            flag=services.FlagInput(
                task_id=task_id,
                category=body.get("category", ""),
                severity=body.get("severity", ""),
                note=body.get("note", ""),
                moment_seconds=body.get("moment_seconds"),
                draft=body.get("draft") or {},
            ),
            ip=client_ip(request),
        )
    except (BadRequest, services.CaseError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    except ClaimError as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    except services.AlreadyFlagged as exc:
        flag, status = exc.flag, 200
    else:
        status = 201
    return JsonResponse(
        {
            "receipt": selectors.receipt(flag),
            "message": gettext("Thank you. The clip is out of every queue and an escalation officer has been alerted."),
            "break_minutes": settings.ANNOTATE_BREAK_MINUTES,
            "urls": {
                "receipts": reverse("cases-api-receipts"),
                "care": reverse("care"),
                "break": reverse("care-break"),
            },
        },
        status=status,
    )


@reviewer_required
@require_GET
def api_receipts(request: HttpRequest) -> JsonResponse:
    """The reviewer's own flags and the state of each case: never notes or identities."""
    care = reviewer_care.care_of(user=request.user)
    on_break = care.break_until if care and care.break_until and care.break_until > timezone.now() else None
    return _no_store(
        JsonResponse(
            {
                "receipts": selectors.receipts_for(user=request.user),
                "break_minutes": settings.ANNOTATE_BREAK_MINUTES,
                "break_until": on_break.isoformat() if on_break else None,
            }
        )
    )


@reviewer_required
@require_GET
def care_page(request: HttpRequest) -> HttpResponse:
    care = reviewer_care.care_of(user=request.user)
    now = timezone.now()
    return render(
        request,
        "escalation/care.html",
        {
            "receipts": selectors.receipts_for(user=request.user),
            "care": care,
            "on_break": care.break_until if care and care.break_until and care.break_until > now else None,
            "exposure": reviewer_care.exposure_of(user=request.user),
            "blocked": reviewer_care.distressing_blocked_reason(user=request.user, care=care),
            "break_minutes": settings.ANNOTATE_BREAK_MINUTES,
        },
    )


@reviewer_required
@require_POST
def care_break(request: HttpRequest) -> HttpResponse:
    until = reviewer_care.take_break(user=request.user)
    if wants_json(request):
        return JsonResponse({"break_until": until.isoformat()})
    messages.info(
        request,
        gettext("Enjoy the break. Your clips went back to the queue; come back at %(time)s.")
        % {"time": date_format(timezone.localtime(until), "H:i T")},
    )
    return redirect("care")


@reviewer_required
@require_POST
def care_break_end(request: HttpRequest) -> HttpResponse:
    reviewer_care.end_break(user=request.user)
    if wants_json(request):
        return JsonResponse({"break_until": None})
    return redirect("care")


@reviewer_required
@require_POST
def care_opt_out(request: HttpRequest) -> HttpResponse:
    try:
        value = form_or_json(request).get("opted_out")
    except (BadRequest, services.CaseError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    opted_out = value is True or value in ("1", "on", "true", "yes")
    reviewer_care.set_opt_out(user=request.user, opted_out=opted_out)
    if wants_json(request):
        return JsonResponse({"opted_out": opted_out})
    messages.info(
        request,
        gettext("Queues marked likely distressing will not serve you.")
        if opted_out
        else gettext("Queues marked likely distressing may serve you again."),
    )
    return redirect("care")


# --- the lead's exposure page ----------------------------------------------------------------------


@lead_required
@require_GET
def exposure_page(request: HttpRequest) -> HttpResponse:
    """Numbers per reviewer, never content."""
    return render(request, "escalation/exposure.html", {"rows": reviewer_care.exposure_rows()})


@lead_required
@require_POST
def exposure_cap(request: HttpRequest, user_id: int) -> HttpResponse:
    reviewer = get_object_or_404(get_user_model(), pk=user_id, is_active=True)
    try:
        raw = form_or_json(request).get("cap")
        cap = None if raw in (None, "") else int(raw)
        reviewer_care.set_daily_cap(lead=request.user, reviewer=reviewer, cap=cap, ip=client_ip(request))
    except (TypeError, ValueError) as exc:  # CareError, CaseError and BadRequest are ValueErrors with a message
        message = (
            str(exc)
            if isinstance(exc, BadRequest | reviewer_care.CareError | services.CaseError)
            else gettext("the cap must be a whole number, or empty")
        )
        if wants_json(request):
            return JsonResponse({"error": message}, status=400)
        messages.error(request, f"{reviewer.get_username()}: {message}")
        return redirect("exposure")
    if wants_json(request):
        return JsonResponse({"cap": cap})
    messages.info(
        request,
        gettext("Daily cap of %(name)s: %(cap)s.")
        % {"name": reviewer.get_username(), "cap": cap if cap is not None else gettext("none")},
    )
    return redirect("exposure")


# --- the officer console -----------------------------------------------------------------------------


@officer_required
@require_GET
def console(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "escalation/console.html",
        {
            "state": {
                "cases": selectors.open_case_summaries(),
                "ws_path": f"/{CASES_SOCKET}",
                "api_open": reverse("cases-api-open"),
                "now": timezone.now().isoformat(),
            },
            "closed": selectors.recently_closed(),
        },
    )


@officer_required
@require_GET
def api_open_cases(request: HttpRequest) -> JsonResponse:
    return _no_store(JsonResponse({"cases": selectors.open_case_summaries(), "now": timezone.now().isoformat()}))


# --- a case ------------------------------------------------------------------------------------------


STEP_LABELS = {
    Case.State.NEW: _("Reopen"),
    Case.State.ACKNOWLEDGED: _("Acknowledge"),
    Case.State.INVESTIGATING: _("Start investigating"),
    Case.State.REFERRED: _("Refer to the authorities"),
    Case.State.WELFARE_CONTACT: _("Welfare contact made"),
    Case.State.NO_ACTION: _("No action needed"),
    Case.State.FALSE_ALARM: _("False alarm"),
    Case.State.CLOSED: _("Close the case"),
}


def _case_context(request: HttpRequest, case: Case, **extra) -> dict:
    flags = list(case.flags.select_related("reviewer").order_by("created_at", "pk"))
    requests_ = list(case.unseal_requests.select_related("requested_by", "decided_by"))
    return {
        "case": case,
        "summary": selectors.case_summary(case),
        "flags": flags,
        "events": selectors.timeline(case),
        "next_states": [(s, STEP_LABELS[s]) for s in selectors.allowed_transitions(case)],
        "referred_to_choices": Case.ReferredTo.choices,
        "can_refer": Case.State.REFERRED in selectors.allowed_transitions(case),
        "unseal_requests": requests_,
        "pending_unseal": next((r for r in requests_ if r.state == UnsealRequest.State.PENDING), None),
        "unsealable": case.state in selectors.UNSEALABLE_STATES,
        "can_view_identity": selectors.can_view_identity(case, request.user),
        "needs_second_officer": settings.ANNOTATE_UNSEAL_NEEDS_SECOND_OFFICER,
        "exports": case.exports.select_related("created_by"),
        "can_export": case.referred_at is not None,
        "has_audio": bool(case.clip.audio_name),
        "state_json": {
            "case_id": case.pk,
            "audio": reverse("case-audio", args=[case.pk]),
            "audio_muffled": reverse("case-audio-muffled", args=[case.pk]),
            "transcript": reverse("case-transcript", args=[case.pk]),
            "identity": reverse("case-identity", args=[case.pk]),
            "ws_path": f"/{CASES_SOCKET}",
            "start_volume": 0.2,
        },
        **extra,
    }


@officer_required
@require_GET
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _get_case_for_officer(request, case_id)
    return _no_store(render(request, "escalation/case.html", _case_context(request, case)))


def _refused(request: HttpRequest, case: Case, exc: Exception) -> HttpResponse:
    status = 403 if isinstance(exc, services.CaseForbidden) else 400
    if wants_json(request):
        return JsonResponse({"error": str(exc)}, status=status)
    case.refresh_from_db()
    return _no_store(
        render(request, "escalation/case.html", _case_context(request, case, error=str(exc)), status=status)
    )


def _done(request: HttpRequest, case_id: int, message: str, payload: dict) -> HttpResponse:
    if wants_json(request):
        return JsonResponse(payload)
    messages.info(request, message)
    return redirect("case", case_id)


@officer_required
@require_POST
def case_transition(request: HttpRequest, case_id: int) -> HttpResponse:
    """Move the case: {to, note, referred_to?, reference?}. Illegal steps answer 400 with the reason."""
    case = _get_case_for_officer(request, case_id)
    try:
        data = form_or_json(request)
        case = services.transition(
            case_id=case.pk,
            actor=request.user,
            to_state=str(data.get("to", "")),
            note=data.get("note", ""),
            referred_to=str(data.get("referred_to", "") or ""),
            reference=data.get("reference", ""),
            ip=client_ip(request),
        )
    except (BadRequest, services.CaseError, services.CaseForbidden) as exc:
        return _refused(request, case, exc)
    return _done(
        request,
        case.pk,
        gettext("Case %(id)s is now %(state)s.") % {"id": case.pk, "state": case.get_state_display()},
        {"case": selectors.case_summary(case)},
    )


@officer_required
@require_POST
def case_acknowledge(request: HttpRequest, case_id: int) -> HttpResponse:
    """The console's "Open and acknowledge": a new case is acknowledged (the transition, audited),
    then the case opens. Already taken on by someone else: it just opens, saying so."""
    case = _get_case_for_officer(request, case_id)
    if case.state != Case.State.NEW:
        who = case.owner.get_username() if case.owner else gettext("another officer")
        messages.info(
            request,
            gettext("Case %(id)s was already taken on (%(state)s, %(who)s).")
            % {"id": case.pk, "state": case.get_state_display(), "who": who},
        )
        return redirect("case", case.pk)
    try:
        case = services.transition(
            case_id=case.pk,
            actor=request.user,
            to_state=Case.State.ACKNOWLEDGED,
            note="Acknowledged on opening it from the console.",
            ip=client_ip(request),
        )
    except (services.CaseError, services.CaseForbidden) as exc:
        return _refused(request, case, exc)
    return _done(
        request,
        case.pk,
        gettext("Case %(id)s acknowledged: its clock moves on.") % {"id": case.pk},
        {"case": selectors.case_summary(case)},
    )


def _case_audio(request: HttpRequest, case_id: int, *, muffled: bool) -> HttpResponse:
    case = _get_case_for_officer(request, case_id)
    if not case.clip.audio_name:
        raise Http404("this clip's audio was purged")
    wav = services.case_audio(
        case=case,
        officer=request.user,
        muffled=muffled,
        ip=client_ip(request),
        range_header=request.headers.get("Range", ""),
    )
    return wav_response(request, wav)


@officer_required
@require_GET
def case_audio(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_audio(request, case_id, muffled=False)


@officer_required
@require_GET
def case_audio_muffled(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_audio(request, case_id, muffled=True)


@officer_required
@require_GET
def case_transcript(request: HttpRequest, case_id: int) -> JsonResponse:
    """Shown only when the officer asks (the page hides it). Audited."""
    case = _get_case_for_officer(request, case_id)
    transcript = services.case_transcript(case=case, officer=request.user, ip=client_ip(request))
    return _no_store(JsonResponse(transcript))


# --- unsealing -----------------------------------------------------------------------------------------


@officer_required
@require_POST
def unseal_request(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _get_case_for_officer(request, case_id)
    try:
        unseal = services.request_unseal(
            case_id=case.pk, officer=request.user, reason=form_or_json(request).get("reason", ""), ip=client_ip(request)
        )
    except (BadRequest, services.CaseError, services.CaseForbidden) as exc:
        return _refused(request, case, exc)
    waiting = unseal.state == UnsealRequest.State.PENDING
    return _done(
        request,
        case.pk,
        gettext("Request recorded: a second officer must approve it.") if waiting else gettext("Unsealing approved."),
        {"request": unseal.pk, "state": unseal.state},
    )


def _decide(request: HttpRequest, case_id: int, request_id: int, *, approve: bool) -> HttpResponse:
    case = _get_case_for_officer(request, case_id)
    try:
        unseal = services.decide_unseal(
            case_id=case.pk,
            request_id=request_id,
            officer=request.user,
            approve=approve,
            note=form_or_json(request).get("note", ""),
            ip=client_ip(request),
        )
    except (BadRequest, services.CaseError, services.CaseForbidden) as exc:
        return _refused(request, case, exc)
    return _done(
        request,
        case.pk,
        gettext("Unsealing approved.") if approve else gettext("Unsealing refused."),
        {"request": unseal.pk, "state": unseal.state},
    )


@officer_required
@require_POST
def unseal_approve(request: HttpRequest, case_id: int, request_id: int) -> HttpResponse:
    return _decide(request, case_id, request_id, approve=True)


@officer_required
@require_POST
def unseal_refuse(request: HttpRequest, case_id: int, request_id: int) -> HttpResponse:
    return _decide(request, case_id, request_id, approve=False)


@officer_required
@require_GET
@never_cache
def case_identity(request: HttpRequest, case_id: int) -> JsonResponse:
    """Account id, first name and device serial, for the two officers of an approved unsealing. Audited."""
    case = _get_case_for_officer(request, case_id)
    try:
        identity = services.identity_for(case_id=case.pk, officer=request.user, ip=client_ip(request))
    except services.CaseForbidden as exc:
        return JsonResponse({"error": str(exc)}, status=403)
    except services.CaseError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return _no_store(
        JsonResponse(
            {
                "account_id": identity.account_id,
                "first_name": identity.first_name,
                "device_serial": identity.device_serial,
            }
        )
    )


# --- evidence ----------------------------------------------------------------------------------------------


@officer_required
@require_POST
def evidence_export(request: HttpRequest, case_id: int) -> HttpResponse:
    """Make an encrypted package; the answer shows its key once (never stored, never shown again)."""
    case = _get_case_for_officer(request, case_id)
    try:
        export, key = evidence.export_evidence(case_id=case.pk, officer=request.user, ip=client_ip(request))
    except (services.CaseError, services.CaseForbidden) as exc:
        return _refused(request, case, exc)
    download = reverse("case-evidence", args=[case.pk, export.pk])
    if wants_json(request):
        return _no_store(
            JsonResponse(
                {
                    "export": export.pk,
                    "key": key,
                    "download": download,
                    "sha256": export.sha256,
                    "includes_identity": export.includes_identity,
                },
                status=201,
            )
        )
    return _no_store(
        render(request, "escalation/evidence.html", {"case": case, "export": export, "key": key, "download": download})
    )


@officer_required
@require_GET
def evidence_download(request: HttpRequest, case_id: int, export_id: int) -> HttpResponse:
    _get_case_for_officer(request, case_id)
    if not EvidenceExport.objects.filter(pk=export_id, case_id=case_id).exists():
        raise Http404
    export = evidence.evidence_file(case_id=case_id, export_id=export_id, officer=request.user, ip=client_ip(request))
    response = HttpResponse(evidence.read_blob(export), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="case-{case_id}-evidence-{export.pk}.zip.aesgcm"'
    return _no_store(response)
