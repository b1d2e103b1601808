"""Writes of the queues app: sampling new clips into queues."""

from __future__ import annotations

import random

from django.db import transaction

from annotate.clips.models import Clip
from annotate.queues.models import Queue, Task

_rng = random.SystemRandom()


@transaction.atomic
def sample_clip(*, clip: Clip, rng: random.Random | None = None) -> list[Task]:
    """Put a new clip into each live queue whose rule matches, at the queue's rate."""
    rng = rng or _rng
    tasks = [
        Task(queue=queue, clip=clip)
        for queue in Queue.objects.filter(archived=False)
        if queue.matches(locale=clip.locale, device_type=clip.device_type) and rng.random() < queue.sample_rate
    ]
    return Task.objects.bulk_create(tasks)
