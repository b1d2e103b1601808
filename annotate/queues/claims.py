"""Claiming tasks: each clip goes to one reviewer at a time, under a lease.

A reviewer holds the clip under review and, so that the next clip is on the
page before it is needed, at most ANNOTATE_PREFETCH more. Claims take the row
lock with `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent
reviewers never wait on each other and never get the same task; on SQLite the
write lock serialises claims, and the conditional UPDATE below stays correct.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from annotate.accounts import wellbeing
from annotate.clips.models import Clip
from annotate.queues.models import Queue, Task
from annotate.review.models import Annotation, Skip


class ClaimError(Exception):
    """The task is not (or no longer) held by this reviewer."""


def lease_for(queue: Queue) -> timedelta:
    return timedelta(seconds=queue.lease_seconds or settings.ANNOTATE_LEASE_SECONDS)


def held_tasks(*, user) -> QuerySet[Task]:
    """The reviewer's live claims, oldest first: the first is the clip under review."""
    return (
        Task.objects.filter(claimed_by=user, state=Task.State.CLAIMED, lease_expires_at__gt=timezone.now())
        .select_related("clip", "queue")
        .order_by("claimed_at", "pk")
    )


def _candidates(*, user, queue_ids: list[int], now) -> QuerySet[Task]:
    # Overlap and gold: never a second task of a clip the reviewer skipped, holds or annotated in the queue.
    same_clip = {"task__clip_id": OuterRef("clip_id"), "task__queue_id": OuterRef("queue_id")}
    skipped = Skip.objects.filter(**same_clip, reviewer=user)
    seen = Task.objects.filter(clip_id=OuterRef("clip_id"), queue_id=OuterRef("queue_id"), claimed_by=user).exclude(
        pk=OuterRef("pk")
    )
    annotated = Annotation.objects.filter(**same_clip, reviewer=user)
    return (
        Task.objects.filter(queue_id__in=queue_ids, clip__state=Clip.State.READY)
        .exclude(Exists(skipped))
        .exclude(Exists(seen))
        .exclude(Exists(annotated))
        .order_by("created_at", "pk")
    )


def _lock_one(qs: QuerySet[Task]) -> Task | None:
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return qs.first()


@transaction.atomic
def claim_next(*, user, queue: Queue | None = None) -> Task | None:
    """Claim the next task for the reviewer from one queue, or from all theirs.

    Expired leases are served first (they are the oldest work), then open tasks
    by queue priority and age. Returns None when nothing is left.
    """
    now = timezone.now()
    queues = [queue] if queue is not None else list(Queue.objects.filter(members=user, archived=False))
    queues = [q for q in queues if not q.archived]
    queues = wellbeing.servable_queues(user=user, queues=queues)  # opt-out and daily cap of distressing queues
    if not queues:
        return None
    for group in _by_priority(queues):
        ids = [q.pk for q in group]
        base = _candidates(user=user, queue_ids=ids, now=now)
        lapsed = {"state": Task.State.CLAIMED, "lease_expires_at__lt": now}
        task = None
        # Leases seldom lapse: a plain look first spares building and planning the full query.
        if Task.objects.filter(queue_id__in=ids, **lapsed).exists():
            task = _lock_one(base.filter(**lapsed))
        if task is None:
            task = _lock_one(base.filter(state=Task.State.OPEN))
        if task is None:
            continue
        lease = lease_for(next(q for q in group if q.pk == task.queue_id))
        updated = (
            Task.objects.filter(pk=task.pk, state=task.state, claimed_by_id=task.claimed_by_id)
            .filter(lease_expires_at=task.lease_expires_at)
            .update(state=Task.State.CLAIMED, claimed_by=user, claimed_at=now, lease_expires_at=now + lease)
        )
        if not updated:  # SQLite only: another claim won the race; try again
            return claim_next(user=user, queue=queue)
        task.state, task.claimed_by, task.claimed_at, task.lease_expires_at = (
            Task.State.CLAIMED,
            user,
            now,
            now + lease,
        )
        return task
    return None


def _by_priority(queues: list[Queue]) -> list[list[Queue]]:
    groups: dict[int, list[Queue]] = {}
    for q in queues:
        groups.setdefault(q.priority, []).append(q)
    return [groups[p] for p in sorted(groups, reverse=True)]


@transaction.atomic
def claim_for_review(*, user, queue: Queue | None = None) -> list[Task]:
    """Top the reviewer's claims up to 1 + ANNOTATE_PREFETCH and return them, oldest first."""

    def relevant(tasks: list) -> list:
        if queue is None:
            return tasks
        return [t for t in tasks if t.queue_id == queue.pk] or tasks

    count = len(relevant(list(held_tasks(user=user).select_related(None).only("pk", "queue_id"))))
    while count < 1 + settings.ANNOTATE_PREFETCH and claim_next(user=user, queue=queue) is not None:
        count += 1
    # One read of everything the page shows, instead of one per claimed task.
    return relevant(list(held_tasks(user=user).prefetch_related("clip__machine_transcripts")))


def get_held_task(*, user, task_id: int, for_update: bool = False) -> Task:
    """The task if this reviewer holds it (lease may have lapsed if nobody took it since)."""
    qs = Task.objects.select_related("clip", "queue")
    if for_update:
        qs = qs.select_for_update(of=("self",)) if connection.features.has_select_for_update_of else qs
    task = qs.filter(pk=task_id, claimed_by=user, state=Task.State.CLAIMED).first()
    if task is None:
        raise ClaimError("this clip is no longer yours: its lease ran out and it went back to the queue")
    return task


@transaction.atomic
def renew(*, user, task_id: int) -> Task:
    task = get_held_task(user=user, task_id=task_id, for_update=True)
    if task.lease_expires_at and task.lease_expires_at < timezone.now():
        raise ClaimError("this clip's lease ran out")
    task.lease_expires_at = timezone.now() + lease_for(task.queue)
    task.save(update_fields=["lease_expires_at"])
    return task


@transaction.atomic
def release(*, task: Task) -> None:
    Task.objects.filter(pk=task.pk).update(
        state=Task.State.OPEN, claimed_by=None, claimed_at=None, lease_expires_at=None
    )


@transaction.atomic
def skip(*, user, task_id: int, reason: str, note: str = "") -> Skip:
    if reason not in Skip.Reason.values:
        raise ValueError(f"unknown reason {reason!r}; one of: {', '.join(Skip.Reason.values)}")
    task = get_held_task(user=user, task_id=task_id, for_update=True)
    record = Skip.objects.create(task=task, reviewer=user, reason=reason, note=note[:500])
    release(task=task)
    return record
