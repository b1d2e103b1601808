"""Writes of the queues app: sampling new clips into queues."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext

from annotate import wiring
from annotate.clips.models import Clip
from annotate.jobs import services as jobs
from annotate.queues.models import Backfill, GoldClip, Queue, Task

_rng = random.SystemRandom()


@transaction.atomic
def sample_clip(*, clip: Clip, rng: random.Random | None = None) -> list[Task]:
    """Put a new clip into each live queue whose rule matches, at the queue's rate.

    A queue with overlap k gets k tasks of the clip (slots 0..k-1: k different
    reviewers); a queue with a gold ratio also gets gold tasks mixed in.
    """
    rng = rng or _rng
    chosen = [
        queue
        for queue in Queue.objects.filter(archived=False)
        if queue.matches(locale=clip.locale, device_type=clip.device_type) and rng.random() < queue.sample_rate
    ]
    tasks = Task.objects.bulk_create([task for queue in chosen for task in _new_tasks(queue, clip)])
    for queue in chosen:
        if queue.gold_ratio > 0:
            tasks += mix_gold(queue=queue, count=gold_count(queue=queue, rng=rng), exclude_clip=clip)
    return tasks


def _new_tasks(queue: Queue, clip: Clip) -> list[Task]:
    """The tasks a clip gets in a queue: one per reviewer of its overlap (slots 0..k-1)."""
    return [Task(queue=queue, clip=clip, slot=slot) for slot in range(max(1, queue.overlap))]


def gold_count(*, queue: Queue, rng: random.Random) -> int:
    """How many gold tasks go with one sampled clip, so that gold is `gold_ratio` of all tasks."""
    ratio = min(max(queue.gold_ratio, 0.0), 0.5)
    expected = ratio * max(1, queue.overlap) / (1 - ratio)
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def mix_gold(*, queue: Queue, count: int, exclude_clip: Clip | None = None) -> list[Task]:
    """Add `count` gold tasks to the queue, the least used gold clips first.

    A gold task looks like any other task; claiming never serves a reviewer a
    clip they already reviewed, so each reviewer meets each gold clip at most once.
    """
    if count <= 0:
        return []
    golds = list(
        GoldClip.objects.filter(queue=queue, active=True, clip__state=Clip.State.READY)
        .exclude(clip__audio_name="")
        .exclude(clip=exclude_clip)
        .annotate(uses=Count("clip__tasks", filter=Q(clip__tasks__queue=queue)), last_slot=Max("clip__tasks__slot"))
        .order_by("uses", "?")[:count]
    )
    created = []
    for gold in golds:
        try:
            with transaction.atomic():  # a concurrent sample may take the same slot: skip it then
                created.append(
                    Task.objects.create(queue=queue, clip_id=gold.clip_id, slot=(gold.last_slot or 0) + 1, is_gold=True)
                )
        except IntegrityError:
            continue
    return created


def route_screened(*, clip: Clip, screening) -> list[Task]:
    """A clip the Whisper worker found likely distressing moves to the queue a lead marked "likely
    distressing" that matches it (the first by priority): its open tasks in other queues are
    withdrawn and the distressing queue gets its tasks. With no such queue it stays where it is
    (reviewer care still counts it: annotate.escalation.care). In the worker's transaction."""
    if not screening.likely_distressing:
        return []
    target = next(
        (
            queue
            for queue in Queue.objects.filter(archived=False, likely_distressing=True)
            if queue.matches(locale=clip.locale, device_type=clip.device_type)
        ),
        None,
    )
    if target is None:
        return []
    Task.objects.filter(clip=clip, state=Task.State.OPEN, is_gold=False).exclude(queue=target).update(
        state=Task.State.WITHDRAWN
    )
    have = set(Task.objects.filter(clip=clip, queue=target).values_list("slot", flat=True))
    return Task.objects.bulk_create(
        [Task(queue=target, clip=clip, slot=slot) for slot in range(max(1, target.overlap)) if slot not in have]
    )


# --- backfill: a queue takes clips ingested before it ------------------------------------------

BACKFILL_BATCH = 200
BACKFILL_MAX_DAYS = 90
BACKFILL_MAX_CAP = 1_000_000


class BackfillError(ValueError):
    """The backfill asked for cannot run (a message for the lead)."""


def backfill_candidates(*, queue: Queue, days: int):
    """Clips of the last `days` days that match the queue's rule and could still be reviewed: with their
    audio, not purged or failed, never flagged (an escalation case, open or closed), not in the queue already."""
    since = timezone.now() - timedelta(days=days)
    qs = (
        Clip.objects.filter(created_at__gte=since)
        .exclude(state__in=(Clip.State.PURGED, Clip.State.ASR_FAILED))
        .exclude(audio_name="")
        .exclude(tasks__queue=queue)
        .exclude(pk__in=wiring.call("flagged_clip_ids"))
    )
    if queue.locales:
        qs = qs.filter(locale__in=queue.locales)
    if queue.device_types:
        qs = qs.filter(device_type__in=queue.device_types)
    return qs.order_by("-created_at", "-pk")


def request_backfill(*, queue: Queue, lead, days: int, cap: int) -> Backfill:
    """Record a backfill of the queue and its job (the `default` worker), run once this transaction
    commits. One at a time per queue: asking again while one waits or runs returns that one."""
    if queue.archived:
        raise BackfillError(gettext("the queue is archived: bring it back before filling it"))
    if not 1 <= days <= BACKFILL_MAX_DAYS:
        raise BackfillError(gettext("days must be between 1 and %(max)s") % {"max": BACKFILL_MAX_DAYS})
    if not 1 <= cap <= BACKFILL_MAX_CAP:
        raise BackfillError(
            gettext("the cap must be between 1 and %(max)s clips")
            % {"max": number_format(BACKFILL_MAX_CAP, force_grouping=True)}
        )
    running = Backfill.objects.filter(queue=queue, state__in=(Backfill.State.QUEUED, Backfill.State.RUNNING)).first()
    if running is not None:
        return running
    backfill = Backfill.objects.create(
        queue=queue,
        requested_by=lead,
        days=days,
        cap=cap,
        sample_rate=queue.sample_rate,
        matching=backfill_candidates(queue=queue, days=days).count(),
    )
    jobs.schedule("default", "annotate.queues.services.run_backfill", backfill.pk, key=f"backfill:{backfill.pk}")
    return backfill


def run_backfill(backfill_id: int, *, rng: random.Random | None = None, **_: object) -> None:
    """The backfill's job: give matching clips tasks, newest first, at the queue's rate, up to the cap.

    In batches, each its own transaction, progress recorded after each; a clip that got a task in
    the queue meanwhile (sampled at ingest, another backfill) is passed over, so a job run again
    after a crash continues where it stopped and never gives a clip two sets of tasks.
    """
    rng = rng or _rng
    backfill = Backfill.objects.select_related("queue").get(pk=backfill_id)
    if backfill.state in (Backfill.State.DONE, Backfill.State.FAILED):
        return
    Backfill.objects.filter(pk=backfill.pk).update(state=Backfill.State.RUNNING)
    queue, added, considered = backfill.queue, backfill.added, backfill.considered
    seen: set[int] = set()
    try:
        while added < backfill.cap:
            batch = list(backfill_candidates(queue=queue, days=backfill.days).exclude(pk__in=seen)[:BACKFILL_BATCH])
            if not batch:
                break
            with transaction.atomic():
                for clip in batch:
                    seen.add(clip.pk)
                    considered += 1
                    if added >= backfill.cap or rng.random() >= backfill.sample_rate:
                        continue
                    try:
                        with transaction.atomic():
                            Task.objects.bulk_create(_new_tasks(queue, clip))
                    except IntegrityError:  # sampled into the queue meanwhile
                        continue
                    added += 1
                Backfill.objects.filter(pk=backfill.pk).update(considered=considered, added=added)
    except Exception as exc:
        Backfill.objects.filter(pk=backfill.pk).update(
            state=Backfill.State.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        raise
    Backfill.objects.filter(pk=backfill.pk).update(
        state=Backfill.State.DONE, considered=considered, added=added, finished_at=timezone.now()
    )
