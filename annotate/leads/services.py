"""Writes of the lead console: queues, members, second opinions, export requests.

Every write is audited. Quality (gold, agreement, adjudication) lives in
quality.py; building an export in exports.py.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotate.accounts import roles
from annotate.audit import services as audit
from annotate.jobs import services as jobs
from annotate.leads import live
from annotate.leads.models import Export, SecondOpinion
from annotate.queues.models import Queue, Task

QUEUE_FIELDS = (
    "name",
    "kind",
    "locales",
    "device_types",
    "priority",
    "sample_rate",
    "lease_seconds",
    "guidelines",
    "likely_distressing",
    "gold_ratio",
    "overlap",
)
MAX_QUESTION = 500
MAX_ANSWER = 2000
MAX_OPEN_QUESTIONS = 20


class ConsoleError(ValueError):
    """A request the console refuses; the message says why."""


def _changed(reason: str) -> None:
    transaction.on_commit(partial(live.notify_dashboard, reason=reason))


# --- queues -------------------------------------------------------------------------------------


@transaction.atomic
def create_queue(*, lead, data: dict[str, Any], ip: str | None = None) -> Queue:
    queue = Queue.objects.create(**{name: data[name] for name in QUEUE_FIELDS if name in data})
    audit.record(action="queue.create", actor=lead, target=f"queue:{queue.pk}", ip=ip)
    _changed("queue")
    return queue


@transaction.atomic
def update_queue(*, queue: Queue, lead, data: dict[str, Any], ip: str | None = None) -> Queue:
    changed = [name for name in QUEUE_FIELDS if name in data and getattr(queue, name) != data[name]]
    for name in changed:
        setattr(queue, name, data[name])
    if changed:
        queue.save(update_fields=changed)
        audit.record(
            action="queue.update",
            actor=lead,
            target=f"queue:{queue.pk}",
            ip=ip,
            details={"changed": changed},
        )
        _changed("queue")
    return queue


@transaction.atomic
def set_archived(*, queue: Queue, lead, archived: bool, ip: str | None = None) -> Queue:
    """An archived queue serves no clips and samples none; unarchiving brings it back as it was."""
    if queue.archived != archived:
        queue.archived = archived
        queue.save(update_fields=["archived"])
        action = "queue.archive" if archived else "queue.unarchive"
        audit.record(action=action, actor=lead, target=f"queue:{queue.pk}", ip=ip)
        _changed("queue")
    return queue


@transaction.atomic
def add_member(*, queue: Queue, reviewer, lead, ip: str | None = None) -> None:
    if not roles.has_role(reviewer, roles.REVIEWER):
        raise ConsoleError(f"{reviewer.get_username()} is not a reviewer")
    queue.members.add(reviewer)
    audit.record(
        action="queue.member_add",
        actor=lead,
        target=f"queue:{queue.pk}",
        ip=ip,
        details={"reviewer": reviewer.get_username()},
    )


@transaction.atomic
def remove_member(*, queue: Queue, reviewer, lead, ip: str | None = None) -> int:
    """Take the reviewer off the queue; the clips they hold in it go back to the queue."""
    queue.members.remove(reviewer)
    released = Task.objects.filter(queue=queue, claimed_by=reviewer, state=Task.State.CLAIMED).update(
        state=Task.State.OPEN, claimed_by=None, claimed_at=None, lease_expires_at=None
    )
    audit.record(
        action="queue.member_remove",
        actor=lead,
        target=f"queue:{queue.pk}",
        ip=ip,
        details={"reviewer": reviewer.get_username(), "released": released},
    )
    return released


# --- second opinions --------------------------------------------------------------------------------


@transaction.atomic
def ask(
    *,
    user,
    task_id: int,
    question: str,
    moment: float | None = None,
    ip: str | None = None,
) -> SecondOpinion:
    """A reviewer asks a lead about a clip they hold (or just reviewed)."""
    question = " ".join(question.split())
    if not question:
        raise ConsoleError("type your question")
    if len(question) > MAX_QUESTION:
        raise ConsoleError(f"the question is longer than {MAX_QUESTION} characters")
    task = (
        Task.objects.select_related("clip")
        .filter(pk=task_id, claimed_by=user, state__in=[Task.State.CLAIMED, Task.State.DONE])
        .first()
    )
    if task is None:
        raise LookupError("this clip is not yours")
    if moment is not None:
        if not 0 <= moment <= task.clip.duration_seconds + 0.5:
            raise ConsoleError("the moment is outside the clip")
        moment = round(moment, 2)
    if SecondOpinion.objects.filter(asked_by=user, answered_at__isnull=True).count() >= MAX_OPEN_QUESTIONS:
        raise ConsoleError("you have many open questions already: wait for the answers")
    opinion = SecondOpinion.objects.create(
        clip=task.clip, task=task, queue_id=task.queue_id, asked_by=user, question=question, moment_seconds=moment
    )
    audit.record(
        action="second_opinion.ask",
        actor=user,
        clip_public_id=task.clip.public_id,
        target=f"question:{opinion.pk}",
        ip=ip,
        details={"moment": moment},
    )
    _changed("question")
    return opinion


@transaction.atomic
def answer(*, opinion: SecondOpinion, lead, text: str, ip: str | None = None) -> SecondOpinion:
    text = text.strip()
    if not text:
        raise ConsoleError("type your answer")
    if len(text) > MAX_ANSWER:
        raise ConsoleError(f"the answer is longer than {MAX_ANSWER} characters")
    amended = opinion.answered_at is not None
    opinion.answer, opinion.answered_by, opinion.answered_at, opinion.seen_at = text, lead, timezone.now(), None
    opinion.save(update_fields=["answer", "answered_by", "answered_at", "seen_at"])
    audit.record(
        action="second_opinion.answer",
        actor=lead,
        clip_public_id=opinion.clip.public_id,
        target=f"question:{opinion.pk}",
        ip=ip,
        details={"amended": amended},
    )
    _changed("answer")
    return opinion


def mark_seen(*, user, ids: list[int]) -> int:
    return SecondOpinion.objects.filter(
        pk__in=ids, asked_by=user, answered_at__isnull=False, seen_at__isnull=True
    ).update(seen_at=timezone.now())


# --- exports ---------------------------------------------------------------------------------------------


@transaction.atomic
def request_export(*, lead, fmt: str, queue: Queue | None = None, ip: str | None = None) -> Export:
    """Record an export job (RQ queue "default"); it is handed to a worker once this transaction commits."""
    from annotate.leads.jobs import build_export_job

    if fmt not in Export.Format.values:
        raise ConsoleError(f"unknown format {fmt!r}; one of: {', '.join(Export.Format.values)}")
    export = Export.objects.create(requested_by=lead, format=fmt, queue=queue)
    audit.record(
        action="export.request",
        actor=lead,
        target=f"export:{export.pk}",
        ip=ip,
        details={"format": fmt, "queue": queue.pk if queue else None},
    )
    jobs.schedule(
        "default",
        build_export_job,
        export.pk,
        key=f"export:{export.pk}",
        retries=settings.ANNOTATE_EXPORT_RETRIES,
        retry_intervals=[30],
        timeout=settings.ANNOTATE_EXPORT_TIMEOUT,
    )
    return export
