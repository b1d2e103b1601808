"""Writes of the queues app: sampling new clips into queues."""

from __future__ import annotations

import random

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q

from annotate.clips.models import Clip
from annotate.queues.models import GoldClip, Queue, Task

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
    tasks = Task.objects.bulk_create(
        [Task(queue=queue, clip=clip, slot=slot) for queue in chosen for slot in range(max(1, queue.overlap))]
    )
    for queue in chosen:
        if queue.gold_ratio > 0:
            tasks += mix_gold(queue=queue, count=gold_count(queue=queue, rng=rng), exclude_clip=clip)
    return tasks


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
