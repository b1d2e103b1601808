"""Reads of the queues app."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from annotate.queues.models import Queue, Task


def queues_for_reviewer(*, user) -> QuerySet[Queue]:
    """The reviewer's live queues, each with its count of open tasks."""
    now = timezone.now()
    open_tasks = Q(tasks__state=Task.State.OPEN) | Q(tasks__state=Task.State.CLAIMED, tasks__lease_expires_at__lt=now)
    return Queue.objects.filter(members=user, archived=False).annotate(open_count=Count("tasks", filter=open_tasks))
