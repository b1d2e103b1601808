"""Reviewer wellbeing: exposure counts, the lead's daily cap, the reviewer's opt-out, breaks.

Exposure is counted from what happened rather than kept in a counter that
could drift: each flag the reviewer raised, and each clip of a queue marked
likely distressing, or that the Whisper worker found likely distressing
(annotate.clips.screening), that they submitted or skipped. A lead may set a daily cap
per reviewer; once today's exposure reaches it, likely distressing queues stop
serving that reviewer until tomorrow (their own day: the time zone they chose,
accounts.Preferences; UTC if none). A reviewer may opt out of
those queues altogether. Leads see numbers only, never content.

`servable_queues` is the rule the reviewer's page hands to claiming
(annotate/queues/claims.py, wired in annotate/urls.py): an SQL condition that the claim
statement embeds, so that claiming stays one statement.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext

from annotate.accounts import roles
from annotate.accounts.models import Preferences, ReviewerCare
from annotate.audit import services as audit
from annotate.clips.models import Screening
from annotate.escalation.models import Flag
from annotate.queues import claims
from annotate.queues.models import Queue, Skip, Task
from annotate.review.models import Annotation

MAX_DAILY_CAP = 1000


class CareError(ValueError):
    """A wellbeing setting was refused; the message says why."""


@dataclass(frozen=True)
class Exposure:
    """Counts only: how many flags and likely distressing clips, over three windows."""

    flags_today: int = 0
    flags_week: int = 0
    flags_total: int = 0
    distressing_today: int = 0
    distressing_week: int = 0
    distressing_total: int = 0

    @property
    def today(self) -> int:
        return self.flags_today + self.distressing_today


def day_start(now: datetime | None = None) -> datetime:
    """Midnight of today in the active time zone: the reviewer's own, in their requests (accounts.locale)."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _windows(field: str, now: datetime) -> dict:
    start = day_start(now)
    return {
        "today": Count("pk", filter=Q(**{f"{field}__gte": start})),
        "week": Count("pk", filter=Q(**{f"{field}__gte": start - timedelta(days=6)})),
        "total": Count("pk"),
    }


def exposure_by_reviewer(*, user_ids: list[int], now: datetime | None = None) -> dict[int, Exposure]:
    """Exposure of each reviewer (three queries whatever the number of reviewers)."""
    now = now or timezone.now()
    flags: dict[int, dict] = {
        row["reviewer_id"]: row
        for row in Flag.objects.filter(reviewer_id__in=user_ids)
        .values("reviewer_id")
        .annotate(**_windows("created_at", now))
    }
    distressing: dict[int, dict[str, int]] = {}
    for model in (Annotation, Skip):
        rows = (
            model.objects.filter(reviewer_id__in=user_ids)
            .filter(Q(task__queue__likely_distressing=True) | Q(task__clip__screening__likely_distressing=True))
            .values("reviewer_id")
            .annotate(**_windows("created_at", now))
        )
        for row in rows:
            acc = distressing.setdefault(row["reviewer_id"], {"today": 0, "week": 0, "total": 0})
            for key in acc:
                acc[key] += row[key]
    result = {}
    for uid in user_ids:
        f = flags.get(uid, {})
        d = distressing.get(uid, {})
        result[uid] = Exposure(
            flags_today=f.get("today", 0),
            flags_week=f.get("week", 0),
            flags_total=f.get("total", 0),
            distressing_today=d.get("today", 0),
            distressing_week=d.get("week", 0),
            distressing_total=d.get("total", 0),
        )
    return result


def exposure_of(*, user) -> Exposure:
    return exposure_by_reviewer(user_ids=[user.pk])[user.pk]


def care_of(*, user) -> ReviewerCare | None:
    return ReviewerCare.objects.filter(user=user).first()


def distressing_blocked_reason(*, user, care: ReviewerCare | None = None) -> str | None:
    """Why likely distressing queues do not serve this reviewer now, or None."""
    care = care if care is not None else care_of(user=user)
    if care is None:
        return None
    if care.opted_out_of_distressing:
        return gettext("you opted out of queues marked likely distressing")
    if care.distressing_daily_cap is not None and exposure_of(user=user).today >= care.distressing_daily_cap:
        return gettext("today's limit of distressing clips is reached; these queues serve you again tomorrow")
    return None


def servable_queues(*, user_id: int, now: datetime) -> tuple[str, dict]:
    """The rule claiming embeds in its statement (claims.Servable): a queue row `q` may serve this
    reviewer unless it is likely distressing and they opted out, or today's exposure (flags raised,
    likely distressing clips submitted or skipped: `exposure_of(...).today`) reached their cap.
    The same rule as distressing_blocked_reason, in SQL, so that a claim stays one statement."""
    return _SERVABLE, {"care_user": user_id, "care_day": day_start(now)}


_SERVABLE = """NOT q.likely_distressing OR NOT EXISTS (
    SELECT 1 FROM {care} rc WHERE rc.user_id = %(care_user)s AND (rc.opted_out_of_distressing OR (
        rc.distressing_daily_cap IS NOT NULL AND rc.distressing_daily_cap <= (
            (SELECT COUNT(*) FROM {flag} f WHERE f.reviewer_id = %(care_user)s AND f.created_at >= %(care_day)s)
            + (SELECT COUNT(*) FROM {annotation} a JOIN {task} at1 ON at1.id = a.task_id
               JOIN {queue} aq ON aq.id = at1.queue_id
               WHERE a.reviewer_id = %(care_user)s AND a.created_at >= %(care_day)s AND (aq.likely_distressing
                   OR EXISTS (SELECT 1 FROM {screening} sa WHERE sa.clip_id = at1.clip_id AND sa.likely_distressing)))
            + (SELECT COUNT(*) FROM {skip} s JOIN {task} st1 ON st1.id = s.task_id
               JOIN {queue} sq ON sq.id = st1.queue_id
               WHERE s.reviewer_id = %(care_user)s AND s.created_at >= %(care_day)s AND (sq.likely_distressing
                   OR EXISTS (SELECT 1 FROM {screening} ss WHERE ss.clip_id = st1.clip_id AND ss.likely_distressing)))
            ))))
"""
_SERVABLE = _SERVABLE.format(  # table names only; every value is a bound parameter
    care=ReviewerCare._meta.db_table,
    screening=Screening._meta.db_table,
    flag=Flag._meta.db_table,
    annotation=Annotation._meta.db_table,
    task=Task._meta.db_table,
    queue=Queue._meta.db_table,
    skip=Skip._meta.db_table,
)


# --- writes -------------------------------------------------------------------------------


def _care_for_update(user) -> ReviewerCare:
    care, _ = ReviewerCare.objects.select_for_update().get_or_create(user=user)
    return care


@transaction.atomic
def set_daily_cap(*, lead, reviewer, cap: int | None, ip: str | None = None) -> ReviewerCare:
    """A lead sets (or clears, with None) a reviewer's daily cap of distressing exposures."""
    if not roles.has_role(lead, roles.LEAD):
        raise CareError(gettext("only a team lead sets daily caps"))
    if not roles.has_role(reviewer, roles.REVIEWER):
        raise CareError(gettext("daily caps apply to reviewers"))
    if cap is not None and not (0 <= cap <= MAX_DAILY_CAP):
        raise CareError(gettext("the cap must be between 0 and %(max)s, or empty for none") % {"max": MAX_DAILY_CAP})
    care = _care_for_update(reviewer)
    care.distressing_daily_cap = cap
    care.cap_set_by = lead
    care.cap_set_at = timezone.now()
    care.save(update_fields=["distressing_daily_cap", "cap_set_by", "cap_set_at", "updated_at"])
    audit.record(action="care.cap_set", actor=lead, target=f"user:{reviewer.pk}", ip=ip, details={"cap": cap})
    return care


@transaction.atomic
def set_opt_out(*, user, opted_out: bool) -> ReviewerCare:
    care = _care_for_update(user)
    care.opted_out_of_distressing = opted_out
    care.save(update_fields=["opted_out_of_distressing", "updated_at"])
    return care


@transaction.atomic
def take_break(*, user, minutes: int | None = None) -> datetime:
    """Start a break: the reviewer's held clips go back to the queue at once."""
    minutes = minutes or settings.ANNOTATE_BREAK_MINUTES
    care = _care_for_update(user)
    care.break_until = timezone.now() + timedelta(minutes=minutes)
    care.save(update_fields=["break_until", "updated_at"])
    for task in Task.objects.filter(claimed_by=user, state=Task.State.CLAIMED):
        claims.release(task=task)
    return care.break_until


@transaction.atomic
def end_break(*, user) -> None:
    ReviewerCare.objects.filter(user=user).update(break_until=None, updated_at=timezone.now())


def reviewers():
    """Every active reviewer, by username (for the lead's exposure page)."""
    return get_user_model().objects.filter(groups__name=roles.REVIEWER, is_active=True).order_by("username")


def _zone(name: str) -> tzinfo:
    """A time zone of accounts.Preferences; the site's when none or unknown (as accounts.locale does)."""
    try:
        return zoneinfo.ZoneInfo(name) if name else timezone.get_default_timezone()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_default_timezone()


def exposure_rows() -> list[dict]:
    """The lead's exposure page: per reviewer, their exposure and care settings (numbers, never content).

    "Today" is each reviewer's own day, in the time zone they chose, as their daily cap counts it
    (their claims run with their zone active): three queries per time zone among the reviewers."""
    people = list(reviewers())
    zones = dict(Preferences.objects.filter(user__in=people).values_list("user_id", "time_zone"))
    by_zone: dict[str, list[int]] = defaultdict(list)
    for person in people:
        by_zone[str(_zone(zones.get(person.pk, "")))].append(person.pk)
    exposure: dict[int, Exposure] = {}
    for zone, user_ids in by_zone.items():
        with timezone.override(_zone(zone)):
            exposure.update(exposure_by_reviewer(user_ids=user_ids))
    cares = {c.user_id: c for c in ReviewerCare.objects.filter(user__in=people)}
    return [
        {"reviewer": r, "exposure": exposure[r.pk], "care": cares.get(r.pk), "zone": str(_zone(zones.get(r.pk, "")))}
        for r in people
    ]
