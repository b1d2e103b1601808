"""Reads of the escalation app: the console, a case, a reviewer's receipts, holds.

What each reader may see is decided here: officers see cases in full except the
identity (that needs an approved unsealing, see services.identity_for);
reviewers see only the receipt of their own flags — that it arrived and which
state the case is in — never an officer's note, a referral reference, or
anything about the recorded person.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from annotate.accounts import roles
from annotate.clips.models import Clip
from annotate.escalation.models import (
    DEFAULT_SEVERITY,
    TRANSITIONS,
    Case,
    CaseEvent,
    Category,
    Flag,
    Severity,
    UnsealRequest,
)

OUTCOMES = frozenset({Case.State.REFERRED, Case.State.WELFARE_CONTACT, Case.State.NO_ACTION, Case.State.FALSE_ALARM})
# Identity may be unsealed once an officer has taken the case on, until it is
# settled as needing nothing from the recorded person (no action, false alarm)
# or closed.
UNSEALABLE_STATES = frozenset(
    {Case.State.ACKNOWLEDGED, Case.State.INVESTIGATING, Case.State.REFERRED, Case.State.WELFARE_CONTACT}
)

# What the reviewer who flagged is told, in their words: never the officers' notes.
STAGE_LABELS = {"acknowledge": _("acknowledge"), "decide": _("decide"), "close": _("close")}
RECEIPT_LABELS = {
    Case.State.NEW: _("Received — an officer has been alerted"),
    Case.State.ACKNOWLEDGED: _("An officer has taken it on"),
    Case.State.INVESTIGATING: _("Being looked into"),
    Case.State.REFERRED: _("Passed on to the authorities"),
    Case.State.WELFARE_CONTACT: _("Handled with a welfare contact"),
    Case.State.NO_ACTION: _("Reviewed: no further action needed"),
    Case.State.FALSE_ALARM: _("Reviewed: no one was at risk"),
    Case.State.CLOSED: _("Closed"),
}


def stage_of(state: str) -> str | None:
    """Which deadline applies in a state: acknowledge, decide, close, or none."""
    if state == Case.State.NEW:
        return "acknowledge"
    if state in (Case.State.ACKNOWLEDGED, Case.State.INVESTIGATING):
        return "decide"
    if state in OUTCOMES:
        return "close"
    return None


def deadline_for(*, severity: str, state: str, opened_at: datetime) -> datetime | None:
    stage = stage_of(state)
    if stage is None:
        return None
    return opened_at + timedelta(seconds=settings.ANNOTATE_CASE_DEADLINES[severity][stage])


def is_officer(user) -> bool:
    return roles.has_role(user, roles.OFFICER)


# --- holds -----------------------------------------------------------------------------------


def hold_filter(now: datetime | None = None) -> Q:
    """Cases that hold their clip: open ones, and any referred within the preservation period."""
    now = now or timezone.now()
    since = now - timedelta(days=settings.ANNOTATE_PRESERVATION_DAYS)
    return ~Q(state=Case.State.CLOSED) | Q(referred_at__gte=since)


def is_on_hold(clip: Clip, *, now: datetime | None = None) -> bool:
    """True while a case keeps the clip, whatever the normal retention says."""
    return Case.objects.filter(hold_filter(now), clip=clip).exists()


def held_clip_ids(*, now: datetime | None = None) -> QuerySet:
    """Ids of every clip on hold (for retention jobs: exclude these)."""
    return Case.objects.filter(hold_filter(now)).values("clip_id")


def flagged_clip_ids() -> QuerySet:
    """Ids of every clip ever flagged (a case, open or closed): such a clip goes back to no queue."""
    return Case.objects.values("clip_id")


OPEN_HOLD = "open"  # hold_ends: held until an open case is closed (no date yet)


def hold_ends(clip_id: int, *, now: datetime | None = None) -> datetime | str | None:
    """When the clip's hold ends: None if not held, OPEN_HOLD while a case is open,
    else the end of the preservation period of its last referral."""
    now = now or timezone.now()
    holding = list(Case.objects.filter(hold_filter(now), clip_id=clip_id).values_list("state", "referred_at"))
    if not holding:
        return None
    if any(state != Case.State.CLOSED for state, _ in holding):
        return OPEN_HOLD
    last = max(referred for _, referred in holding if referred is not None)
    return last + timedelta(days=settings.ANNOTATE_PRESERVATION_DAYS)


# --- officers ---------------------------------------------------------------------------------


def open_cases() -> QuerySet[Case]:
    """Open cases, most severe first, then the nearest deadline."""
    return (
        Case.objects.exclude(state=Case.State.CLOSED)
        .select_related("owner", "clip")
        .annotate(
            flag_count=Count("flags", distinct=True),
            pending_unseal=Count(
                "unseal_requests", filter=Q(unseal_requests__state=UnsealRequest.State.PENDING), distinct=True
            ),
        )
        .order_by("severity_rank", "due_at", "pk")
    )


def recently_closed(limit: int = 20) -> QuerySet[Case]:
    return Case.objects.filter(state=Case.State.CLOSED).select_related("owner").order_by("-closed_at")[:limit]


def case_summary(case: Case, *, now: datetime | None = None) -> dict[str, Any]:
    """A case as the console shows it (officers only): no identity, no notes."""
    now = now or timezone.now()
    flag_count = getattr(case, "flag_count", None)
    if flag_count is None:
        flag_count = case.flags.count()
    pending = getattr(case, "pending_unseal", None)
    if pending is None:
        pending = case.unseal_requests.filter(state=UnsealRequest.State.PENDING).count()
    return {
        "id": case.pk,
        "url": reverse("case", args=[case.pk]),
        "acknowledge_url": reverse("case-acknowledge", args=[case.pk]),
        "category": case.category,
        "category_label": str(Category(case.category).label),
        "severity": case.severity,
        "severity_rank": case.severity_rank,
        "state": case.state,
        "state_label": str(Case.State(case.state).label),
        "stage": stage_of(case.state),
        "stage_label": str(STAGE_LABELS.get(stage_of(case.state) or "", "")),
        "severity_label": str(Severity(case.severity).label),
        "opened_at": case.opened_at.isoformat(),
        "due_at": case.due_at.isoformat() if case.due_at else None,
        "overdue": bool(case.due_at and case.due_at < now),
        "owner": case.owner.get_username() if case.owner is not None else None,
        "flags": flag_count,
        "clip": case.clip.public_id,
        "pending_unseal": bool(pending),
    }


def open_case_summaries() -> list[dict[str, Any]]:
    now = timezone.now()
    return [case_summary(c, now=now) for c in open_cases()]


def timeline(case: Case) -> QuerySet[CaseEvent]:
    return case.events.select_related("actor").order_by("at", "pk")


def allowed_transitions(case: Case) -> list[str]:
    return sorted(TRANSITIONS[case.state], key=lambda s: list(Case.State.values).index(s))


def approved_unseal(case: Case) -> UnsealRequest | None:
    return case.unseal_requests.filter(state=UnsealRequest.State.APPROVED).order_by("decided_at", "pk").first()


def can_view_identity(case: Case, user) -> bool:
    """Only the two officers of an approved unsealing, only while the case allows it."""
    if not is_officer(user) or case.state not in UNSEALABLE_STATES:
        return False
    request = approved_unseal(case)
    if request is None:
        return False
    return user.pk in {request.requested_by_id, request.decided_by_id}


def transcript_of(clip: Clip) -> dict[str, Any]:
    latest = clip.machine_transcripts.order_by("-created_at").first()
    return {
        "whisper_text": latest.text if latest else "",
        "whisper_model": latest.model_name if latest else "",
        "heard": clip.heard,
        "response": clip.response,
    }


# --- the reviewer who flagged -----------------------------------------------------------


def receipt(flag: Flag) -> dict[str, Any]:
    """What the reviewer is told about their flag: never notes, references or identity.

    Times in the reviewer's own time zone (active in their request: accounts.Preferences), with its
    offset; `flagged_at_text` is the time as the care page and the review page's panel show it,
    with the zone's name ("2026-12-02 00:30 EET"), so the page and its script say the same."""
    case = flag.case
    flagged_at = timezone.localtime(flag.created_at)
    return {
        "flag_id": flag.pk,
        "case_id": case.pk,
        "flagged_at": flagged_at.isoformat(),
        "flagged_at_text": date_format(flagged_at, "Y-m-d H:i T"),
        "category": flag.category,
        "category_label": str(Category(flag.category).label),
        "severity": flag.severity,
        "state": case.state,
        "state_label": str(RECEIPT_LABELS[Case.State(case.state)]),
        "handled": case.state != Case.State.NEW,
        "closed": case.state == Case.State.CLOSED,
        "updated_at": timezone.localtime(case.state_changed_at).isoformat(),
    }


def receipts_for(*, user, limit: int = 20) -> list[dict[str, Any]]:
    flags = Flag.objects.filter(reviewer=user).select_related("case").order_by("-created_at", "-pk")[:limit]
    return [receipt(f) for f in flags]


def severity_choices() -> list[dict[str, str]]:
    return [{"value": v, "label": str(label)} for v, label in Severity.choices]


def category_choices() -> list[dict[str, str]]:
    return [
        {"value": v, "label": str(label), "severity": str(DEFAULT_SEVERITY[Category(v)])}
        for v, label in Category.choices
    ]
