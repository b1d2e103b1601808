"""Writes of the lead console: queues, members, gold and adjudication, second opinions, export requests.

Every write is audited inside its own transaction. The rules of quality (what
gold and a final transcript are, agreement) live in annotate/quality; building an
export in exports.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from annotate.accounts import roles
from annotate.audit import services as audit
from annotate.clips.models import Clip
from annotate.leads import exports, live
from annotate.leads.models import Export, SecondOpinion
from annotate.quality import services as quality
from annotate.quality.models import FinalTranscript
from annotate.queues import services as queue_services
from annotate.queues.models import GoldClip, Queue, Task
from annotate.review.models import Annotation

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
        raise ConsoleError(gettext("%(name)s is not a reviewer") % {"name": reviewer.get_username()})
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


# --- gold and adjudication (the rules live in annotate/quality; the console audits them) ------------------


@transaction.atomic
def add_gold(*, queue: Queue, clip: Clip, reference_text: str, lead, ip: str | None = None) -> GoldClip:
    gold = quality.add_gold(queue=queue, clip=clip, reference_text=reference_text, lead=lead)
    audit.record(action="gold.add", actor=lead, clip_public_id=clip.public_id, target=f"queue:{queue.pk}", ip=ip)
    return gold


@transaction.atomic
def retire_gold(*, gold: GoldClip, lead, ip: str | None = None) -> None:
    quality.retire_gold(gold=gold)
    audit.record(
        action="gold.retire", actor=lead, clip_public_id=gold.clip.public_id, target=f"queue:{gold.queue_id}", ip=ip
    )


@transaction.atomic
def adjudicate(
    *,
    clip: Clip,
    text: str,
    lead,
    annotation: Annotation | None = None,
    gold_queue: Queue | None = None,
    ip: str | None = None,
) -> FinalTranscript:
    """The lead's final transcript of the clip and, if asked, the clip as gold of a queue: both or neither."""
    final = quality.adjudicate(clip=clip, text=text, lead=lead, annotation=annotation)
    if gold_queue is not None:
        quality.add_gold(queue=gold_queue, clip=clip, reference_text=final.text, lead=lead)
    audit.record(
        action="adjudicate",
        actor=lead,
        clip_public_id=clip.public_id,
        ip=ip,
        details={"picked": annotation.pk if annotation else None, "gold_queue": gold_queue.pk if gold_queue else None},
    )
    return final


def log_adjudication_view(*, clip: Clip, lead, ip: str | None = None) -> None:
    """Leads read reviewers' transcripts of the clip: each look is audited."""
    audit.record(action="adjudicate.view", actor=lead, clip_public_id=clip.public_id, ip=ip)


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
        raise ConsoleError(gettext("type your question"))
    if len(question) > MAX_QUESTION:
        raise ConsoleError(
            ngettext(
                "the question is longer than %(max)s character",
                "the question is longer than %(max)s characters",
                MAX_QUESTION,
            )
            % {"max": MAX_QUESTION}
        )
    task = (
        Task.objects.select_related("clip")
        .filter(pk=task_id, claimed_by=user, state__in=[Task.State.CLAIMED, Task.State.DONE])
        .first()
    )
    if task is None:
        raise LookupError(gettext("this clip is not yours"))
    if moment is not None:
        if not 0 <= moment <= task.clip.duration_seconds + 0.5:
            raise ConsoleError(gettext("the moment is outside the clip"))
        moment = round(moment, 2)
    if SecondOpinion.objects.filter(asked_by=user, answered_at__isnull=True).count() >= MAX_OPEN_QUESTIONS:
        raise ConsoleError(gettext("you have many open questions already: wait for the answers"))
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
        raise ConsoleError(gettext("type your answer"))
    if len(text) > MAX_ANSWER:
        raise ConsoleError(
            ngettext(
                "the answer is longer than %(max)s character",
                "the answer is longer than %(max)s characters",
                MAX_ANSWER,
            )
            % {"max": MAX_ANSWER}
        )
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


def log_question_view(*, opinion: SecondOpinion, lead, ip: str | None = None) -> None:
    audit.record(
        action="second_opinion.view",
        actor=lead,
        clip_public_id=opinion.clip.public_id,
        target=f"question:{opinion.pk}",
        ip=ip,
    )


# --- exports ---------------------------------------------------------------------------------------------


@transaction.atomic
def request_export(*, lead, fmt: str, queue: Queue | None = None, ip: str | None = None) -> Export:
    """Record an export job (RQ queue "default"); it is handed to a worker once this transaction commits."""
    if fmt not in Export.Format.values:
        raise ConsoleError(
            gettext("unknown format %(format)r; one of: %(formats)s")
            % {"format": fmt, "formats": ", ".join(Export.Format.values)}
        )
    export = Export.objects.create(requested_by=lead, format=fmt, queue=queue)
    audit.record(
        action="export.request",
        actor=lead,
        target=f"export:{export.pk}",
        ip=ip,
        details={"format": fmt, "queue": queue.pk if queue else None},
    )
    exports.schedule_build(export)
    return export


def open_export(*, export: Export, lead, ip: str | None = None) -> Iterator[bytes]:
    """The finished export's zip, decrypted chunk by chunk, for download by a lead; every download is audited.

    Raises crypto.DecryptionError before anything is audited or sent if the file cannot be read.
    """
    chunks = exports.read_archive(export)
    audit.record(
        action="export.download",
        actor=lead,
        target=f"export:{export.pk}",
        ip=ip,
        details={"format": export.format, "clips": export.clip_count},
    )
    return chunks


def backfill(*, queue: Queue, lead, days: int, cap: int, ip: str | None = None):
    """A lead fills the queue with matching clips ingested before it (queues.services), audited."""
    made = queue_services.request_backfill(queue=queue, lead=lead, days=days, cap=cap)
    audit.record(
        action="queue.backfill",
        actor=lead,
        target=f"queue:{queue.pk}",
        ip=ip,
        details={"backfill": made.pk, "days": made.days, "cap": made.cap, "matching": made.matching},
    )
    return made
