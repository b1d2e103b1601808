"""Writes of the escalation app: flagging a clip, working a case, unsealing an identity.

Every function checks who may do it, writes the timeline and the audit log in
the same transaction, and tells the officers only after the commit.

Refusals (CaseError, CaseForbidden) say why in the language of the person refused (gettext when
raised): the views show them as they are; timelines and audit rows never hold them.

The state machine (each step needs a note):

    new → acknowledged → investigating → referred | welfare_contact | no_action | false_alarm → closed
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from annotate import wiring
from annotate.accounts import roles
from annotate.accounts import selectors as accounts
from annotate.audit import services as audit
from annotate.clips import protect, vault
from annotate.clips.models import Clip
from annotate.escalation import notify, selectors
from annotate.escalation.models import (
    DEFAULT_SEVERITY,
    SEVERITY_RANK,
    TRANSITIONS,
    Case,
    CaseEvent,
    Category,
    EvidenceExport,
    Flag,
    Severity,
    UnsealRequest,
)
from annotate.queues import claims
from annotate.queues.models import Task
from annotate.review.models import Annotation

MAX_NOTE = 4000
MAX_REFERENCE = 100
MIN_UNSEAL_REASON = 15


class CaseError(ValueError):
    """The request is refused as it stands (bad input, illegal step); the message says why."""


class CaseForbidden(PermissionError):
    """This user may not do this, whatever the input."""


class AlreadyFlagged(Exception):
    """This reviewer already flagged this task (a retried or doubled request): nothing changed."""

    def __init__(self, flag: Flag):
        super().__init__(f"you already flagged this clip (case {flag.case_id})")
        self.flag = flag


def _require_officer(user) -> None:
    if not selectors.is_officer(user):
        raise CaseForbidden(gettext("only escalation officers work cases"))


def _longer_than(what: str, limit: int) -> CaseError:
    return CaseError(
        ngettext("%(what)s is longer than %(max)s character", "%(what)s is longer than %(max)s characters", limit)
        % {"what": what, "max": limit}
    )


def _note(value: Any, *, what: str | None = None, required: bool = True) -> str:
    """The note, stripped; `what` names it in refusals (in the person's language; default "a note")."""
    what = what or gettext("a note")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise CaseError(gettext("%(what)s must be text") % {"what": what})
    value = value.strip()
    if required and not value:
        raise CaseError(gettext("%(what)s is required") % {"what": what})
    if len(value) > MAX_NOTE:
        raise _longer_than(what, MAX_NOTE)
    return value


def _event(case: Case, kind: str, *, actor=None, note: str = "", **details: Any) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        actor=actor,
        note=note,
        from_state=details.pop("from_state", ""),
        to_state=details.pop("to_state", ""),
        details=details,
    )


def _after_commit(case_id: int, kind: str, *, mail: bool = False) -> None:
    transaction.on_commit(lambda: notify.broadcast(case_id, kind))
    if mail:
        notify.mail_after_commit(case_id, kind)


def _locked_case(case_id: int) -> Case:
    qs = Case.objects.select_related("clip")
    if connection.features.has_select_for_update_of:
        qs = qs.select_for_update(of=("self",))
    case = qs.filter(pk=case_id).first()
    if case is None:
        raise CaseError(gettext("there is no case %(id)s") % {"id": case_id})
    return case


# --- flagging ------------------------------------------------------------------------------------

DRAFT_TEXT_FIELDS = {"corrected_text": 5000, "answer_grade": 12}
DRAFT_BOOL_FIELDS = ("no_speech", "unintelligible", "other_language", "accidental")


@dataclass(frozen=True)
class FlagInput:
    task_id: int
    category: str
    severity: str = ""
    note: str = ""
    moment_seconds: float | None = None
    draft: dict[str, Any] = field(default_factory=dict)


def clean_draft(draft: Any) -> dict[str, Any]:
    """The reviewer's annotation so far, as the review page's draft() gives it: known fields only."""
    if draft in (None, ""):
        return {}
    if not isinstance(draft, dict):
        raise CaseError(gettext("draft must be an object (the annotation so far)"))
    clean: dict[str, Any] = {}
    for name, limit in DRAFT_TEXT_FIELDS.items():
        value = draft.get(name, "")
        if not isinstance(value, str):
            raise CaseError(gettext("%(what)s must be text") % {"what": f"draft.{name}"})
        if len(value) > limit:
            raise _longer_than(f"draft.{name}", limit)
        if value:
            clean[name] = value
    if clean.get("answer_grade") and clean["answer_grade"] not in Annotation.Grade.values:
        raise CaseError(
            gettext("draft.answer_grade must be one of %(values)s") % {"values": ", ".join(Annotation.Grade.values)}
        )
    for name in DRAFT_BOOL_FIELDS:
        value = draft.get(name, False)
        if not isinstance(value, bool):
            raise CaseError(gettext("draft.%(name)s must be true or false") % {"name": name})
        if value:
            clean[name] = True
    intent = draft.get("intent_correct")
    if intent is not None and not isinstance(intent, bool):
        raise CaseError(gettext("draft.intent_correct must be true, false or null"))
    if intent is not None:
        clean["intent_correct"] = intent
    seconds = draft.get("seconds_spent")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and math.isfinite(seconds):
        clean["seconds_spent"] = max(0.0, min(float(seconds), 24 * 3600.0))
    return clean


def _check_flag(flag: FlagInput, clip: Clip) -> tuple[str, str, str, float | None, dict[str, Any]]:
    if flag.category not in Category.values:
        raise CaseError(gettext("category must be one of %(values)s") % {"values": ", ".join(Category.values)})
    severity = flag.severity or DEFAULT_SEVERITY[Category(flag.category)]
    if severity not in Severity.values:
        raise CaseError(gettext("severity must be one of %(values)s") % {"values": ", ".join(Severity.values)})
    note = _note(flag.note, what=gettext("the note"), required=False)
    moment = flag.moment_seconds
    if moment is not None:
        if isinstance(moment, bool) or not isinstance(moment, int | float) or not math.isfinite(moment):
            raise CaseError(gettext("moment_seconds must be a number of seconds"))
        if not 0 <= moment <= clip.duration_seconds + 1:
            raise CaseError(
                gettext("moment_seconds must be within the clip (0 to %(end)s s)")
                % {"end": f"{clip.duration_seconds:.1f}"}
            )
        moment = round(float(moment), 2)
    return flag.category, severity, note, moment, clean_draft(flag.draft)


def _flaggable_task(*, user, task_id: int) -> Task:
    """The reviewer's held task, or one of theirs withdrawn because the clip's case is open.

    Locks the clip's row, then the task's (the lock order of annotate.queues.claims).
    """
    task = claims.lock_task(task_id=task_id, claimed_by=user)
    if task is not None and task.state == Task.State.CLAIMED:
        return task
    if (
        task is not None
        and task.state == Task.State.WITHDRAWN
        and Case.objects.filter(clip_id=task.clip_id).exclude(state=Case.State.CLOSED).exists()
    ):
        return task
    raise claims.not_held(user=user, task_id=task_id)


@transaction.atomic
def flag_clip(*, user, flag: FlagInput, ip: str | None = None) -> Flag:
    """A reviewer flags the clip of a task they hold.

    At once, in one transaction: every task of the clip, in every queue and
    whoever holds it, is withdrawn (so its audio URL answers 404 for everyone);
    the clip's open case gets the flag, or a new case opens; the reviewer's
    annotation so far is kept on the flag; the flag counts toward the reviewer's
    exposure. After the commit, the officers are told live and by e-mail.
    """
    if not roles.has_role(user, roles.REVIEWER):
        raise CaseForbidden(gettext("only reviewers flag clips"))
    task = _flaggable_task(user=user, task_id=flag.task_id)  # the clip is locked: one case per clip
    earlier = Flag.objects.filter(task=task, reviewer=user).select_related("case").first()
    if earlier is not None:
        raise AlreadyFlagged(earlier)
    clip = task.clip
    category, severity, note, moment, draft = _check_flag(flag, clip)
    now = timezone.now()

    Task.objects.filter(clip=clip).exclude(state__in=[Task.State.DONE, Task.State.WITHDRAWN]).update(
        state=Task.State.WITHDRAWN, lease_expires_at=None
    )
    wiring.call("clip_flagged", clip=clip)  # out of every stored export (annotate.leads), at once

    case = Case.objects.filter(clip=clip).exclude(state=Case.State.CLOSED).order_by("pk").first()
    created = case is None
    if case is None:
        case = Case.objects.create(
            clip=clip,
            category=category,
            severity=severity,
            severity_rank=SEVERITY_RANK[Severity(severity)],
            state=Case.State.NEW,
            opened_at=now,
            state_changed_at=now,
            due_at=selectors.deadline_for(severity=severity, state=Case.State.NEW, opened_at=now),
        )
    record = Flag.objects.create(
        case=case,
        reviewer=user,
        task=task,
        category=category,
        severity=severity,
        note=note,
        moment_seconds=moment,
        draft=draft,
    )
    _event(
        case,
        CaseEvent.Kind.FLAGGED,
        actor=user,
        note=note,
        flag_id=record.pk,
        category=category,
        severity=severity,
        moment_seconds=moment,
        queue=task.queue.name,
    )
    if not created and SEVERITY_RANK[Severity(severity)] < case.severity_rank:
        before = case.severity
        case.severity, case.severity_rank = severity, SEVERITY_RANK[Severity(severity)]
        case.due_at = selectors.deadline_for(severity=severity, state=case.state, opened_at=case.opened_at)
        case.save(update_fields=["severity", "severity_rank", "due_at"])
        _event(case, CaseEvent.Kind.SEVERITY, actor=user, before=before, after=severity)
    audit.record(
        action="case.flag",
        actor=user,
        clip_public_id=clip.public_id,
        target=f"case:{case.pk}",
        ip=ip,
        details={"flag": record.pk, "category": category, "severity": severity, "new_case": created},
    )
    _after_commit(case.pk, notify.NEW if created else notify.UPDATED, mail=created)
    # The leads' live dashboard counts flags (numbers only).
    transaction.on_commit(lambda: wiring.call("flags_changed", reason="flag"), robust=True)
    return record


# --- working a case -----------------------------------------------------------------------------


@transaction.atomic
def transition(
    *,
    case_id: int,
    actor,
    to_state: str,
    note: Any,
    referred_to: str = "",
    reference: Any = "",
    ip: str | None = None,
) -> Case:
    """Move a case one legal step, with the officer's note. Illegal steps raise CaseError."""
    _require_officer(actor)
    case = _locked_case(case_id)
    if to_state not in Case.State.values:
        raise CaseError(
            gettext("%(state)r is not a case state; the states are: %(states)s")
            % {"state": to_state, "states": ", ".join(Case.State.values)}
        )
    allowed = TRANSITIONS[case.state]
    if to_state not in allowed:  # the step asked for as it was sent; the case's states in words
        if not allowed:
            raise CaseError(
                gettext("case %(id)s is closed: it cannot move to %(state)r") % {"id": case.pk, "state": to_state}
            )
        raise CaseError(
            gettext(
                "case %(id)s is %(current)s: it cannot move to %(state)r; from %(current)s it can move to: %(allowed)s"
            )
            % {
                "id": case.pk,
                "current": Case.State(case.state).label,
                "state": to_state,
                "allowed": ", ".join(str(Case.State(s).label) for s in sorted(allowed)),
            }
        )
    note = _note(
        note, what=gettext("a note on why the case moves to %(state)s") % {"state": Case.State(to_state).label}
    )
    details: dict[str, Any] = {}
    if to_state == Case.State.REFERRED:
        if referred_to not in Case.ReferredTo.values:
            raise CaseError(
                gettext("a referral names who it went to: one of %(values)s")
                % {"values": ", ".join(Case.ReferredTo.values)}
            )
        reference = _note(reference, what=gettext("the referral's reference number"))
        if len(reference) > MAX_REFERENCE:
            raise _longer_than(gettext("the reference number"), MAX_REFERENCE)
        case.referred_to, case.referral_reference = referred_to, reference
        details = {"referred_to": referred_to, "reference": reference}
    now = timezone.now()
    before = case.state
    case.state = to_state
    case.state_changed_at = now
    case.due_at = selectors.deadline_for(severity=case.severity, state=to_state, opened_at=case.opened_at)
    case.overdue_notified_at = None
    if to_state == Case.State.ACKNOWLEDGED:
        case.owner, case.acknowledged_at = actor, now
    elif to_state in selectors.OUTCOMES:
        case.decided_at = now
        if to_state == Case.State.REFERRED:
            case.referred_at = now
    elif to_state == Case.State.CLOSED:
        case.closed_at = now
    case.save()
    _event(case, CaseEvent.Kind.TRANSITION, actor=actor, note=note, from_state=before, to_state=to_state, **details)
    audit.record(
        action="case.transition",
        actor=actor,
        clip_public_id=case.clip.public_id,
        target=f"case:{case.pk}",
        ip=ip,
        details={"from": before, "to": to_state, **({"referred_to": referred_to} if details else {})},
    )
    _after_commit(case.pk, notify.UPDATED)
    return case


@transaction.atomic
def notify_overdue(*, now=None) -> list[int]:
    """Re-notify officers of every open case past its stage's deadline.

    The console is told again every ANNOTATE_OVERDUE_RENOTIFY_SECONDS; the
    timeline and e-mail get it once per stage (a step resets it).
    """
    now = now or timezone.now()
    quiet_since = now - timedelta(seconds=settings.ANNOTATE_OVERDUE_RENOTIFY_SECONDS)
    due = (
        Case.objects.exclude(state=Case.State.CLOSED)
        .filter(due_at__lt=now)
        .exclude(overdue_notified_at__gte=quiet_since)
        .order_by("severity_rank", "due_at")
    )
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True)
    notified = []
    for case in due:
        first = case.overdue_notified_at is None
        Case.objects.filter(pk=case.pk).update(overdue_notified_at=now)
        if first:
            stage = selectors.stage_of(case.state)
            _event(case, CaseEvent.Kind.OVERDUE, stage=stage, due_at=case.due_at.isoformat() if case.due_at else None)
            audit.record(action="case.overdue", target=f"case:{case.pk}", details={"stage": stage})
        _after_commit(case.pk, notify.OVERDUE, mail=first)
        notified.append(case.pk)
    return notified


# --- unsealing the identity ------------------------------------------------------------------------


def _seasoned_officer(officer) -> None:
    """An officer whose role was granted less than ANNOTATE_ROLE_COOLDOWN_HOURS ago may not approve an unsealing."""
    left = accounts.role_too_new(officer, roles.OFFICER)
    if left is not None:
        hours = math.ceil(left.total_seconds() / 3600)
        raise CaseForbidden(
            gettext(
                "your officer role is new: you may approve an unsealing in %(hours)s h "
                "(ANNOTATE_ROLE_COOLDOWN_HOURS=%(setting)s)"
            )
            % {"hours": hours, "setting": settings.ANNOTATE_ROLE_COOLDOWN_HOURS}
        )


def _unsealable(case: Case) -> None:
    if case.state not in selectors.UNSEALABLE_STATES:
        raise CaseError(
            gettext(
                "case %(id)s is %(state)s: identities are unsealed only on an open case "
                "that an officer has taken on (acknowledged, investigating, referred or welfare contact)"
            )
            % {"id": case.pk, "state": Case.State(case.state).label}
        )


@transaction.atomic
def request_unseal(*, case_id: int, officer, reason: Any, ip: str | None = None) -> UnsealRequest:
    """An officer asks, with a written reason, to see the recorded person's identity."""
    _require_officer(officer)
    case = _locked_case(case_id)
    _unsealable(case)
    reason = _note(reason, what=gettext("a written reason"))
    if len(reason) < MIN_UNSEAL_REASON:
        raise CaseError(
            ngettext(
                "write the reason out (at least %(min)s character)",
                "write the reason out (at least %(min)s characters)",
                MIN_UNSEAL_REASON,
            )
            % {"min": MIN_UNSEAL_REASON}
        )
    if case.unseal_requests.filter(state=UnsealRequest.State.PENDING).exists():
        raise CaseError(gettext("a request to unseal this case's identity is already waiting for a second officer"))
    if not hasattr(case.clip, "sealed_identity"):
        raise CaseError(gettext("this clip has no sealed identity (it was imported without one)"))
    needs_second = settings.ANNOTATE_UNSEAL_NEEDS_SECOND_OFFICER
    if not needs_second:  # the asking officer approves their own request
        _seasoned_officer(officer)
    unseal = UnsealRequest.objects.create(
        case=case,
        requested_by=officer,
        reason=reason,
        state=UnsealRequest.State.PENDING if needs_second else UnsealRequest.State.APPROVED,
        decided_at=None if needs_second else timezone.now(),
    )
    _event(case, CaseEvent.Kind.UNSEAL_REQUESTED, actor=officer, note=reason, request=unseal.pk)
    audit.record(
        action="identity.unseal_requested",
        actor=officer,
        clip_public_id=case.clip.public_id,
        target=f"case:{case.pk}",
        ip=ip,
        details={"request": unseal.pk, "second_officer_needed": needs_second},
    )
    if not needs_second:
        _event(case, CaseEvent.Kind.UNSEAL_APPROVED, actor=officer, request=unseal.pk, second_officer=False)
    _after_commit(case.pk, notify.UPDATED)
    return unseal


@transaction.atomic
def decide_unseal(
    *, case_id: int, request_id: int, officer, approve: bool, note: Any, ip: str | None = None
) -> UnsealRequest:
    """A second officer (never the one who asked) approves or refuses, with a note."""
    _require_officer(officer)
    case = _locked_case(case_id)
    unseal = UnsealRequest.objects.filter(pk=request_id, case=case).first()
    if unseal is None:
        raise CaseError(
            gettext("case %(id)s has no unsealing request %(request)s") % {"id": case.pk, "request": request_id}
        )
    if unseal.state != UnsealRequest.State.PENDING:
        raise CaseError(gettext("that request was already %(state)s") % {"state": unseal.get_state_display()})
    if unseal.requested_by_id == officer.pk:
        raise CaseForbidden(gettext("a second officer must decide: you cannot approve or refuse your own request"))
    if approve:
        _unsealable(case)
        _seasoned_officer(officer)
    note = _note(note, what=gettext("a note on the decision"))
    unseal.state = UnsealRequest.State.APPROVED if approve else UnsealRequest.State.REFUSED
    unseal.decided_by, unseal.decided_at, unseal.decision_note = officer, timezone.now(), note
    unseal.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    kind = CaseEvent.Kind.UNSEAL_APPROVED if approve else CaseEvent.Kind.UNSEAL_REFUSED
    _event(case, kind, actor=officer, note=note, request=unseal.pk)
    audit.record(
        action="identity.unseal_approved" if approve else "identity.unseal_refused",
        actor=officer,
        clip_public_id=case.clip.public_id,
        target=f"case:{case.pk}",
        ip=ip,
        details={"request": unseal.pk, "requested_by": unseal.requested_by_id},
    )
    _after_commit(case.pk, notify.UPDATED)
    return unseal


@transaction.atomic
def identity_for(*, case_id: int, officer, ip: str | None = None, purpose: str = "view") -> vault.Identity:
    """The recorded person's identity, for one of the two officers of an approved unsealing. Audited."""
    _require_officer(officer)
    case = _locked_case(case_id)
    _unsealable(case)
    if not selectors.can_view_identity(case, officer):
        raise CaseForbidden(
            gettext("the identity is shown only to the officer who asked and the officer who approved the unsealing")
        )
    identity = vault.unseal_identity(case.clip.sealed_identity)
    _event(case, CaseEvent.Kind.IDENTITY_VIEWED, actor=officer, purpose=purpose)
    audit.record(
        action="identity.view",
        actor=officer,
        clip_public_id=case.clip.public_id,
        target=f"case:{case.pk}",
        ip=ip,
        details={"purpose": purpose},
    )
    return identity


# --- what an officer reads and hears (audited) -------------------------------------------------------


def case_audio(*, case: Case, officer, muffled: bool, ip: str | None = None, range_header: str = "") -> bytes:
    """The case's clip as WAV, muffled (a protective first listen) if asked; every play is audited."""
    wav = vault.load_audio(case.clip)
    if muffled:
        wav = protect.muffle(wav)
    audit.record(
        action="case.audio.play",
        actor=officer,
        clip_public_id=case.clip.public_id,
        target=f"case:{case.pk}",
        ip=ip,
        details={"muffled": muffled, "range": range_header},
    )
    return wav


def case_transcript(*, case: Case, officer, ip: str | None = None) -> dict[str, Any]:
    """The clip's transcripts and the reviewers' drafts of it, shown only when the officer asks. Audited."""
    audit.record(
        action="case.transcript.view",
        actor=officer,
        clip_public_id=case.clip.public_id,
        target=f"case:{case.pk}",
        ip=ip,
    )
    drafts = [f.draft.get("corrected_text", "") for f in case.flags.order_by("created_at", "pk")]
    return {**selectors.transcript_of(case.clip), "reviewer_drafts": drafts}


# --- erasure ---------------------------------------------------------------------------------


def delete_released_cases(*, clip_ids: list[int], now=None) -> int:
    """Delete the cases of these clips, none of which may still hold its clip (annotate.privacy
    checks the hold first, with the clip's row locked): flags, timeline, unsealing requests and
    evidence packages (their files once the transaction commits). The audit log keeps that they
    were. Returns how many cases went."""
    cases = Case.objects.filter(clip_id__in=clip_ids)
    if cases.filter(selectors.hold_filter(now)).exists():
        raise ValueError("a case still holds one of these clips: it cannot be erased")
    case_ids = list(cases.values_list("pk", flat=True))
    if not case_ids:
        return 0
    evidence = EvidenceExport.objects.filter(case_id__in=case_ids)
    names = list(evidence.values_list("storage_name", flat=True))
    evidence.delete()
    UnsealRequest.objects.filter(case_id__in=case_ids).delete()
    CaseEvent.objects.filter(case_id__in=case_ids).delete()
    Flag.objects.filter(case_id__in=case_ids).delete()
    Case.objects.filter(pk__in=case_ids).delete()
    for case_id in case_ids:
        audit.record(action="case.erased", target=f"case:{case_id}")
    vault.delete_after_commit(*names)
    return len(case_ids)
