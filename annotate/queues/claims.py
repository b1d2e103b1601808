"""Claiming tasks: each clip goes to one reviewer at a time, under a lease.

A reviewer holds the clip under review and, so that the next clip is on the
page before it is needed, at most ANNOTATE_PREFETCH more. Claims take the row
lock with `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent
reviewers never wait on each other and never get the same task; on SQLite the
write lock serialises claims, and the conditional UPDATE below stays correct.

Lock order
----------
Every transaction that changes a clip's tasks or what hangs off the clip takes
its row locks in one order, so that two of them wait for each other instead of
deadlocking (a flag and a submit of one clip used to: the submit held its task
and wanted the clip, the flag held the clip and wanted every task of it):

1. the Clip row, `SELECT … FOR NO KEY UPDATE` (`annotate.clips.services.lock_clip`, or `lock_task`
   through the task's id);
2. then the clip's Task rows: the task at hand `FOR UPDATE` (`lock_task`),
   then, by UPDATE, the clip's other tasks (a flag or an accidental recording
   withdraws them all);
3. then the rows that hang off them: annotations, skips, flags and cases,
   final transcripts, agreement scores.

Who follows it: submit, skip, renew and flag (through `lock_task` /
`get_held_task(for_update=True)`), `purge_clip`, and the quality services
(`fold_overlap`, `set_final`, `retire_gold`), which lock the clip first (a
no-op when their caller holds it already). Claims and releases (`claim_next`,
`release`, a lead removing a member) lock task rows only and never wait for a
clip afterwards, so they cannot close a cycle; claims skip locked rows.

NO KEY UPDATE rather than UPDATE: storing a row that refers to the clip (an
annotation, a flag, a transcript) takes FOR KEY SHARE on the clip, which
FOR UPDATE would wait for and NO KEY UPDATE does not; two NO KEY UPDATE locks
still exclude each other. On SQLite none of this applies: one writer at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from annotate.clips.models import Clip
from annotate.queues.models import Queue, Skip, Task


class ClaimError(Exception):
    """The task is not (or no longer) held by this reviewer; `reason` says why, for the page.

    The page treats them differently: after a lapsed lease the reviewer's text
    was not saved and they may want to copy it; after the others nothing more
    is needed from them on that clip.
    """

    LAPSED = "lapsed"  # the lease ran out and the clip went back to the queue (or to someone else)
    SUBMITTED = "submitted"  # this reviewer already submitted it (another tab, another attempt)
    ESCALATED = "escalated"  # withdrawn: someone flagged the clip for escalation
    WITHDRAWN = "withdrawn"  # withdrawn for another reason: an accidental recording, a retired gold clip

    def __init__(self, message: str, *, reason: str = LAPSED):
        super().__init__(message)
        self.reason = reason


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
    annotated = Task.objects.filter(
        clip_id=OuterRef("clip_id"), queue_id=OuterRef("queue_id"), annotation__reviewer=user
    )
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


Servable = Callable[..., list[Queue]]  # (*, user, queues) -> the queues that may serve this reviewer now


def every_queue(*, user, queues: list[Queue]) -> list[Queue]:
    return queues


@transaction.atomic
def claim_next(*, user, queue: Queue | None = None, servable: Servable = every_queue) -> Task | None:
    """Claim the next task for the reviewer from one queue, or from all theirs.

    Expired leases are served first (they are the oldest work), then open tasks
    by queue priority and age. Returns None when nothing is left. `servable` is
    handed in by the caller: the reviewer's page passes reviewer care's rule
    (annotate.escalation.care.servable_queues: opt-out and daily cap of likely
    distressing queues).
    """
    now = timezone.now()
    queues = [queue] if queue is not None else list(Queue.objects.filter(members=user, archived=False))
    queues = [q for q in queues if not q.archived]
    queues = servable(user=user, queues=queues)
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
def claim_for_review(*, user, queue: Queue | None = None, servable: Servable = every_queue) -> list[Task]:
    """Top the reviewer's claims up to 1 + ANNOTATE_PREFETCH and return them, oldest first."""

    def relevant(tasks: list) -> list:
        if queue is None:
            return tasks
        return [t for t in tasks if t.queue_id == queue.pk] or tasks

    count = len(relevant(list(held_tasks(user=user).select_related(None).only("pk", "queue_id"))))
    while count < 1 + settings.ANNOTATE_PREFETCH and claim_next(user=user, queue=queue, servable=servable) is not None:
        count += 1
    # One read of everything the page shows, instead of one per claimed task.
    return relevant(list(held_tasks(user=user).prefetch_related("clip__machine_transcripts")))


def lock_task(*, task_id: int, **filters) -> Task | None:
    """Lock order, steps 1 and 2: the task's clip row, then the task's row, if it matches `filters`.

    Call inside a transaction. The task comes with its clip (the locked row) and queue.
    """
    clip = Clip.objects.select_for_update(no_key=True, of=("self",)).filter(tasks__pk=task_id).first()
    if clip is None:
        return None
    task = Task.objects.select_related("queue").select_for_update(of=("self",)).filter(pk=task_id, **filters).first()
    if task is not None:
        task.clip = clip
    return task


def get_held_task(*, user, task_id: int, for_update: bool = False) -> Task:
    """The task if this reviewer holds it (lease may have lapsed if nobody took it since).

    for_update: lock the clip, then the task (the lock order above). Raises
    ClaimError saying why the task is not held.
    """
    if for_update:
        task = lock_task(task_id=task_id, claimed_by=user, state=Task.State.CLAIMED)
    else:
        task = (
            Task.objects.select_related("clip", "queue")
            .filter(pk=task_id, claimed_by=user, state=Task.State.CLAIMED)
            .first()
        )
    if task is None:
        raise not_held(user=user, task_id=task_id)
    return task


def not_held(*, user, task_id: int) -> ClaimError:
    """Why the reviewer no longer holds the task, in words for them."""
    task = Task.objects.select_related("clip").filter(pk=task_id, claimed_by=user).first()
    if task is None and not Task.objects.filter(pk=task_id).exists():  # deleted with its clip (annotate.privacy)
        return ClaimError(
            "this clip was withdrawn and deleted: the recorded person asked for it to be erased. "
            "Nothing more is needed from you on it",
            reason=ClaimError.WITHDRAWN,
        )
    if task is not None and task.state == Task.State.DONE:
        return ClaimError("you already submitted this clip", reason=ClaimError.SUBMITTED)
    if task is not None and task.state == Task.State.WITHDRAWN:
        nothing_more = "Nothing more is needed from you on it"
        if Clip.objects.filter(pk=task.clip_id, cases__isnull=False).exists():  # a case (annotate.escalation)
            return ClaimError(
                "this clip was withdrawn for escalation: it was flagged and an escalation officer has it. "
                + nothing_more,
                reason=ClaimError.ESCALATED,
            )
        if task.clip.state == Clip.State.PURGED:
            return ClaimError(
                "this clip was withdrawn: it was marked an accidental recording and its audio deleted. " + nothing_more,
                reason=ClaimError.WITHDRAWN,
            )
        return ClaimError(f"this clip was withdrawn from the queue. {nothing_more}", reason=ClaimError.WITHDRAWN)
    return ClaimError("this clip is no longer yours: its lease ran out and it went back to the queue")


@transaction.atomic
def renew(*, user, task_id: int) -> Task:
    task = get_held_task(user=user, task_id=task_id, for_update=True)
    if task.lease_expires_at and task.lease_expires_at < timezone.now():
        raise ClaimError("this clip is no longer yours: its lease ran out")
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
    """Give the clip back to the queue, never to be served to this reviewer again.

    Idempotent: a retried skip of a clip this reviewer skipped returns the stored skip.
    """
    if reason not in Skip.Reason.values:
        raise ValueError(f"unknown reason {reason!r}; one of: {', '.join(Skip.Reason.values)}")
    try:
        task = get_held_task(user=user, task_id=task_id, for_update=True)
    except ClaimError:
        earlier = Skip.objects.filter(task_id=task_id, reviewer=user).order_by("-pk").first()
        if earlier is None:
            raise
        return earlier
    record = Skip.objects.create(task=task, reviewer=user, reason=reason, note=note[:500])
    release(task=task)
    return record
