"""Reads of the lead console: queue numbers, the live dashboard, adjudication, the inbox, exports.

Nothing here returns an identifier of a recorded person: clips are named by their
random public id, reviewers by their user name.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncHour
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from annotate.accounts import roles
from annotate.clips.models import Clip
from annotate.leads import guards
from annotate.leads.models import Export, SecondOpinion
from annotate.quality.models import AgreementScore, ClipAgreement, FinalTranscript, GoldScore, WhisperScore
from annotate.queues.models import GoldClip, Queue, Task
from annotate.review.models import HEARD_IN_FULL, Annotation

QUALITY_WINDOW = timedelta(days=30)
MEDIAN_SAMPLE = 5_000


def _backlog_q(now: datetime, prefix: str = "") -> Q:
    return Q(**{f"{prefix}state": Task.State.OPEN}) | Q(
        **{f"{prefix}state": Task.State.CLAIMED, f"{prefix}lease_expires_at__lt": now}
    )


# --- queues ---------------------------------------------------------------------------------


def queues_with_numbers(*, include_archived: bool = True) -> QuerySet[Queue]:
    now = timezone.now()
    qs = Queue.objects.all() if include_archived else Queue.objects.filter(archived=False)
    members = (
        Queue.members.through.objects.filter(queue_id=OuterRef("pk"))
        .values("queue_id")
        .annotate(n=Count("pk"))  # type: ignore[misc]  # the through model's annotation, unknown to the stubs
        .values("n")
    )
    return qs.annotate(
        backlog=Count("tasks", filter=_backlog_q(now, "tasks__")),
        in_progress=Count("tasks", filter=Q(tasks__state=Task.State.CLAIMED, tasks__lease_expires_at__gte=now)),
        done=Count("tasks", filter=Q(tasks__state=Task.State.DONE)),
        member_count=Coalesce(Subquery(members), 0),
    ).order_by("archived", "-priority", "name")


def reviewers_not_in(queue: Queue) -> QuerySet:
    User = get_user_model()
    return (
        User.objects.filter(groups__name=roles.REVIEWER, is_active=True)
        .exclude(review_queues=queue)
        .order_by("username")
        .distinct()
    )


def gold_clips(queue: Queue) -> QuerySet[GoldClip]:
    return (
        GoldClip.objects.filter(queue=queue)
        .select_related("clip")
        .annotate(
            served=Count("clip__tasks", filter=Q(clip__tasks__queue=queue, clip__tasks__is_gold=True)),
            accuracy=Avg("scores__accuracy"),
        )
        .order_by("-active", "-created_at")
    )


def preview_matching(*, locales: list[str], device_types: list[str], sample_rate: float, days: int = 7) -> dict:
    """How many clips of the last `days` days match the rule, and how many it would sample."""
    since = timezone.now() - timedelta(days=days)
    qs = Clip.objects.filter(created_at__gte=since)
    if locales:
        qs = qs.filter(locale__in=locales)
    if device_types:
        qs = qs.filter(device_type__in=device_types)
    matching = qs.count()
    rate = min(max(sample_rate, 0.0), 1.0)
    return {
        "days": days,
        "recent": Clip.objects.filter(created_at__gte=since).count(),
        "matching": matching,
        "sampled": round(matching * rate),
    }


# --- the live dashboard --------------------------------------------------------------------------


def _median(values: list[float] | None) -> float | None:
    return round(statistics.median(values), 1) if values else None


# Rubber-stamping: the listening figures of a reviewer's last 24 hours, and when they alert a lead.
NO_LISTENING: dict[str, Any] = {"submits": 0, "unchanged_share": None, "median_listened": None, "pace": None}
ALERT_MIN_SUBMITS = 10  # fewer submits say too little
ALERT_UNCHANGED_SHARE = 0.8  # at least this share of Whisper's texts submitted unchanged...
ALERT_PACE = 1.0  # ...or a median under one second of work per second of audio


def _listening(*, since: datetime) -> dict[int, dict[str, Any]]:
    """Per reviewer: submits, the share of Whisper's texts submitted unchanged, the median share of
    each clip played (as the page reported it), and the median pace: seconds spent per second of audio."""
    rows: dict[int, list[tuple[bool, float | None, float]]] = defaultdict(list)
    for reviewer_id, unchanged, listened, seconds, duration_ms in (
        Annotation.objects.filter(created_at__gte=since, accidental=False)
        .order_by("-created_at")
        .values_list("reviewer_id", "unchanged", "listened_fraction", "seconds_spent", "clip__duration_ms")[
            :MEDIAN_SAMPLE
        ]
    ):
        rows[reviewer_id].append((unchanged, listened, seconds / (duration_ms / 1000) if duration_ms else 0.0))
    figures = {}
    for reviewer_id, items in rows.items():
        heard = [listened for _, listened, _ in items if listened is not None]
        figures[reviewer_id] = {
            "submits": len(items),
            "unchanged_share": round(sum(unchanged for unchanged, _, _ in items) / len(items), 3),
            "median_listened": round(statistics.median(heard), 3) if heard else None,
            "pace": round(statistics.median(pace for _, _, pace in items), 2),
        }
    return figures


def listening_alerts(reviewers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reviewers whose last 24 hours look like rubber-stamping, with why, in words for the lead."""
    alerts = []
    for r in reviewers:
        if r["submits"] < ALERT_MIN_SUBMITS:
            continue
        why: list[str] = []
        reasons: list[dict[str, Any]] = []
        unheard = r["median_listened"] is None or r["median_listened"] < HEARD_IN_FULL
        if r["unchanged_share"] >= ALERT_UNCHANGED_SHARE and unheard:
            unchanged = round(r["unchanged_share"] * 100)
            heard = None if r["median_listened"] is None else round(r["median_listened"] * 100)
            why.append(
                f"{unchanged}% of Whisper's texts submitted unchanged, "
                f"median heard {'not reported' if heard is None else f'{heard}%'}"
            )
            reasons.append({"kind": "unchanged", "unchanged": unchanged, "heard": heard})
        if r["pace"] < ALERT_PACE:
            why.append(f"{r['pace']} s of work per second of audio: faster than the clips play")
            reasons.append({"kind": "pace", "pace": r["pace"]})
        if why:
            # `why` in English; `reasons` in numbers, which the dashboard's script words in the lead's
            # language (the WebSocket pushes the same snapshot to every lead).
            alerts.append(
                {"reviewer": r["reviewer"], "submits": r["submits"], "why": "; ".join(why), "reasons": reasons}
            )
    return alerts


def dashboard() -> dict[str, Any]:
    """Everything the live dashboard shows, JSON-safe: numbers and names, never identities."""
    now = timezone.now()
    hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(hours=24)
    queues = list(Queue.objects.filter(archived=False).order_by("-priority", "name"))
    live = {
        row["queue_id"]: row
        for row in Task.objects.filter(state__in=[Task.State.OPEN, Task.State.CLAIMED], queue__archived=False)
        .values("queue_id")
        .annotate(
            backlog=Count("pk", filter=_backlog_q(now)),
            in_progress=Count("pk", filter=Q(state=Task.State.CLAIMED, lease_expires_at__gte=now)),
        )
        .order_by()
    }

    # Throughput from the tasks done in the last 24 hours (task_done_idx), counted in SQL.
    done = Task.objects.filter(done_at__gte=day_ago)
    last_hour = Count("pk", filter=Q(done_at__gte=hour_ago))
    per_queue = {
        row["queue_id"]: row for row in done.values("queue_id").annotate(day=Count("pk"), hour=last_hour).order_by()
    }
    per_reviewer = {
        row["claimed_by_id"]: row
        for row in done.exclude(claimed_by=None)
        .values("claimed_by_id")
        .annotate(day=Count("pk"), hour=last_hour)
        .order_by()
    }
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    hourly = [0] * 24
    for row in done.filter(done_at__gte=start).annotate(at=TruncHour("done_at")).values("at").annotate(n=Count("pk")):
        index = int((row["at"] - start).total_seconds() // 3600)
        if 0 <= index < 24:
            hourly[index] += row["n"]
    # Medians from the newest reviews (a bounded sample, so a busy day costs the same).
    seconds_by_queue: dict[int, list[float]] = defaultdict(list)
    seconds_by_reviewer: dict[int, list[float]] = defaultdict(list)
    for queue_id, reviewer_id, seconds in (
        Annotation.objects.filter(task__done_at__gte=day_ago)
        .order_by("-task__done_at")
        .values_list("task__queue_id", "reviewer_id", "seconds_spent")[:MEDIAN_SAMPLE]
    ):
        seconds_by_queue[queue_id].append(seconds)
        seconds_by_reviewer[reviewer_id].append(seconds)

    since = now - QUALITY_WINDOW
    gold = {
        r["reviewer_id"]: r
        for r in GoldScore.objects.filter(created_at__gte=since)
        .values("reviewer_id")
        .annotate(accuracy=Avg("accuracy"), n=Count("pk"))
    }
    agreement = {
        r["reviewer_id"]: r
        for r in AgreementScore.objects.filter(created_at__gte=since)
        .values("reviewer_id")
        .annotate(agreement=Avg("agreement"), n=Count("pk"))
    }
    listening = _listening(since=day_ago)
    reviewer_ids = set(per_reviewer) | set(gold) | set(agreement) | set(listening)
    names = dict(get_user_model().objects.filter(pk__in=reviewer_ids).values_list("pk", "username"))

    def _round(value, digits=3):
        return None if value is None else round(value, digits)

    reviewers = sorted(
        (
            {
                "reviewer": names.get(rid, "?"),
                "last_hour": per_reviewer[rid]["hour"] if rid in per_reviewer else 0,
                "last_24h": per_reviewer[rid]["day"] if rid in per_reviewer else 0,
                "median_seconds": _median(seconds_by_reviewer.get(rid)),
                "gold_accuracy": _round(gold[rid]["accuracy"]) if rid in gold else None,
                "gold_n": gold[rid]["n"] if rid in gold else 0,
                "agreement": _round(agreement[rid]["agreement"]) if rid in agreement else None,
                "agreement_n": agreement[rid]["n"] if rid in agreement else 0,
                **listening.get(rid, NO_LISTENING),
            }
            for rid in reviewer_ids
        ),
        key=lambda r: (-int(r["last_24h"] or 0), str(r["reviewer"])),
    )
    whisper = [
        {
            "model": r["model_name"],
            "wer": round(r["errors"] / r["words"], 4) if r["words"] else None,
            "clips": r["clips"],
            "words": r["words"],
        }
        for r in WhisperScore.objects.values("model_name")
        .annotate(errors=Sum("errors"), words=Sum("words"), clips=Count("pk"))
        .order_by("model_name")
    ]
    return {
        "generated_at": now.isoformat(),
        "alerts": listening_alerts(reviewers),
        "queues": [
            {
                "id": q.pk,
                "name": q.name,
                "priority": q.priority,
                "overlap": q.overlap,
                "gold_ratio": q.gold_ratio,
                "backlog": live[q.pk]["backlog"] if q.pk in live else 0,
                "in_progress": live[q.pk]["in_progress"] if q.pk in live else 0,
                "clips_per_hour": per_queue[q.pk]["hour"] if q.pk in per_queue else 0,
                "median_seconds": _median(seconds_by_queue.get(q.pk)),
            }
            for q in queues
        ],
        "hourly": [
            {"hour": (start + timedelta(hours=i)).isoformat(), "clips": count} for i, count in enumerate(hourly)
        ],
        "whisper": whisper,
        "reviewers": reviewers,
        "flags": guards.flag_counts(since=day_ago),
        "adjudication_waiting": ClipAgreement.objects.filter(needs_adjudication=True, resolved_at__isnull=True).count(),
        "inbox_open": SecondOpinion.objects.filter(answered_at__isnull=True).count(),
        "totals": {
            "backlog": sum(row["backlog"] for row in live.values()),
            "last_hour": sum(row["hour"] for row in per_queue.values()),
            "last_24h": sum(row["day"] for row in per_queue.values()),
        },
    }


# --- adjudication ------------------------------------------------------------------------------------


def clip_in_console(public_id: str) -> Clip | None:
    """A clip a lead may look at: in the console (reviewed, asked about, or gold) and not flagged; else None."""
    clip = Clip.objects.filter(public_id=public_id).first()
    if clip is None:
        return None
    in_console = (
        Annotation.objects.filter(clip=clip).exists()
        or SecondOpinion.objects.filter(clip=clip).exists()
        or GoldClip.objects.filter(clip=clip).exists()
    )
    if not in_console or guards.is_flagged(clip.pk):
        return None
    return clip


def clip_for_gold(public_id: str) -> Clip | None:
    """The clip a lead names to make gold, unless it is flagged (then, as for an unknown id, None)."""
    clip = Clip.objects.filter(public_id=public_id).first()
    if clip is None or guards.is_flagged(clip.pk):
        return None
    return clip


def open_queues() -> QuerySet[Queue]:
    return Queue.objects.filter(archived=False).order_by("name")


def disagreements() -> QuerySet[ClipAgreement]:
    qs = (
        ClipAgreement.objects.filter(needs_adjudication=True, resolved_at__isnull=True)
        .exclude(clip__state=Clip.State.PURGED)
        .select_related("queue", "clip")
        .order_by("created_at", "pk")
    )
    return qs.exclude(guards.flagged(outer="clip_id"))


def clip_for_adjudication(clip: Clip) -> dict[str, Any]:
    annotations = list(
        Annotation.objects.filter(clip=clip, task__is_gold=False)
        .select_related("reviewer", "task__queue")
        .order_by("created_at", "pk")
    )
    transcripts = list(clip.machine_transcripts.order_by("-created_at"))
    return {
        "annotations": annotations,
        "transcripts": transcripts,
        "final": FinalTranscript.objects.filter(clip=clip).first(),
        "agreements": list(ClipAgreement.objects.filter(clip=clip).select_related("queue")),
    }


# --- the second-opinion inbox -----------------------------------------------------------------------


def inbox() -> dict[str, list[SecondOpinion]]:
    base = SecondOpinion.objects.select_related("asked_by", "queue", "clip", "answered_by")
    return {
        "open": list(base.filter(answered_at__isnull=True).order_by("created_at")),
        "answered": list(base.filter(answered_at__isnull=False).order_by("-answered_at")[:50]),
    }


def annotations_of(clip: Clip) -> QuerySet[Annotation]:
    return Annotation.objects.filter(clip=clip).select_related("reviewer").order_by("created_at")


def questions_of(*, user, task_id: int | None = None) -> QuerySet[SecondOpinion]:
    qs = SecondOpinion.objects.filter(asked_by=user).order_by("-created_at")
    if task_id is not None:
        qs = qs.filter(task_id=task_id)
    return qs


def question_json(question: SecondOpinion) -> dict[str, Any]:
    return {
        "id": question.pk,
        "task_id": question.task_id,
        "question": question.question,
        "moment": question.moment_seconds,
        "asked_at": question.created_at.isoformat(),
        "answer": question.answer if question.answered_at else None,
        "answered_at": question.answered_at.isoformat() if question.answered_at else None,
        "seen": question.seen_at is not None,
    }


# --- exports ------------------------------------------------------------------------------------------


def retention_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.ANNOTATE_RETENTION_DAYS)


def exportable_finals(*, queue: Queue | None = None, now: datetime | None = None) -> QuerySet[FinalTranscript]:
    """Final transcripts fit for training: reviewed, final, not flagged, not accidental,
    audio still held, inside retention, not waiting for adjudication."""
    accidental = Annotation.objects.filter(clip_id=OuterRef("clip_id"), accidental=True)
    undecided = ClipAgreement.objects.filter(
        clip_id=OuterRef("clip_id"), needs_adjudication=True, resolved_at__isnull=True
    )
    qs = (
        FinalTranscript.objects.exclude(text="")
        .filter(clip__state=Clip.State.READY)
        .exclude(clip__audio_name="")
        .annotate(kept_from=Coalesce("clip__captured_at", "clip__created_at"))
        .filter(kept_from__gte=retention_cutoff(now))
        .exclude(Exists(accidental))
        .exclude(Exists(undecided))
    )
    qs = qs.exclude(guards.flagged(outer="clip_id"))
    if queue is not None:
        qs = qs.filter(Exists(Task.objects.filter(clip_id=OuterRef("clip_id"), queue=queue)))
    return qs.select_related("clip").order_by("clip_id")


def recent_exports(limit: int = 50) -> QuerySet[Export]:
    return Export.objects.select_related("requested_by", "queue")[:limit]


def export_json(export: Export) -> dict[str, Any]:
    now = timezone.now()
    expires = timezone.localtime(export.expires_at) if export.expires_at else None
    return {
        "id": export.pk,
        "state": export.current_state,
        "state_label": export.current_state_label,
        "format": export.format,
        "progress": round(export.progress, 4),
        "done": export.done,
        "total": export.total,
        "clip_count": export.clip_count,
        "size_bytes": export.size_bytes,
        "error": export.error,
        "expires_at": expires.isoformat() if expires else None,
        "expires": date_format(expires, "DATETIME_FORMAT") if expires else "",
        "note": export.note,
        "download_url": f"/lead/exports/{export.pk}/download" if export.is_downloadable(now) else None,
    }


SCREENING_PAGE = 50


def screenings(*, decision: str = "", page: int = 1) -> dict:
    """The lead's screening page: what the Whisper worker decided about each clip before any human
    heard it (annotate.clips.screening), newest first, with counts by decision. Numbers and labels
    only, never the clip's words."""
    from django.core.paginator import Paginator

    from annotate.clips.models import Screening

    everything = Screening.objects.all()
    counts = {row["decision"]: row["n"] for row in everything.values("decision").annotate(n=Count("pk"))}
    wanted = everything.filter(decision=decision) if decision in Screening.Decision.values else everything
    paginator = Paginator(wanted.select_related("clip").order_by("-created_at", "-pk"), SCREENING_PAGE)
    return {
        "page": paginator.get_page(page),
        "decision": decision if decision in Screening.Decision.values else "",
        "decisions": [(value, label, counts.get(value, 0)) for value, label in Screening.Decision.choices],
        "total": sum(counts.values()),
        "distressing": everything.filter(likely_distressing=True).count(),
        "with_personal_data": everything.exclude(personal_data=[]).count(),
    }


def backfill_json(backfill) -> dict[str, Any]:
    """A backfill's progress, for the queue page (and its polling)."""
    target = max(1, min(backfill.cap, backfill.matching))
    return {
        "id": backfill.pk,
        "state": backfill.state,
        "state_label": str(backfill.get_state_display()),
        "days": backfill.days,
        "cap": backfill.cap,
        "matching": backfill.matching,
        "considered": backfill.considered,
        "added": backfill.added,
        "progress": round(min(1.0, backfill.considered / max(1, backfill.matching)), 3)
        if backfill.state != "done"
        else 1.0,
        "expected": round(target * backfill.sample_rate),
        "error": backfill.error,
        "status_url": reverse("lead-backfill-status", args=[backfill.queue_id, backfill.pk]),
    }


def backfill_preview(queue, *, days: int = 7) -> dict[str, Any]:
    """What a backfill of the queue would take now: clips of the last `days` days matching its rule
    and not in it yet, and about how many at its rate."""
    from annotate.queues.services import backfill_candidates

    matching = backfill_candidates(queue=queue, days=days).count()
    return {"days": days, "matching": matching, "sampled": round(matching * min(max(queue.sample_rate, 0), 1))}


def results_of(finals: list) -> list[dict[str, Any]]:
    """The results feed's items (annotate/api.py): each final transcript with its entity spans (the
    entity export's rule: spans of a reviewer who wrote that very text, else null) and its grades
    (reviewers' answer grades, counted). Four queries for the page."""
    from annotate.leads.entity_exports import documents_of

    documents = {d["id"]: d for d in documents_of(finals)}
    grades: dict[int, dict[str, int]] = {}
    for clip_id, grade, n in (
        Annotation.objects.filter(clip_id__in=[f.clip_id for f in finals])
        .exclude(answer_grade="")
        .values_list("clip_id", "answer_grade")
        .annotate(n=Count("pk"))
    ):
        grades.setdefault(clip_id, {})[grade] = n
    return [
        {
            "clip": f.clip.public_id,
            "text": f.text,
            "source": f.source,
            "decided_at": f.decided_at,
            "locale": f.clip.locale,
            "spans": documents[f.clip.public_id]["spans"],
            "grades": grades.get(f.clip_id, {}),
        }
        for f in finals
    ]
