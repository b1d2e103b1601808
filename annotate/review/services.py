"""Writes of the review app: submitting an annotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from annotate import sql, wiring
from annotate.clips.models import Clip
from annotate.clips.services import purge_clip
from annotate.jobs import services as jobs
from annotate.queues.claims import ClaimError, Finished, finish_held, finished, lock_task, not_held
from annotate.queues.models import Task
from annotate.review.metrics import error_rates, normalise
from annotate.review.models import Annotation

MAX_TEXT = 5000
MIN_RATE, MAX_RATE = 0.5, 2.0  # the page's playback speeds


class SubmitError(ValueError):
    """The submission is malformed; the message says what to fix.

    What a reviewer can meet on the page (an empty or too long transcript) is in their language
    (gettext when raised, in their request); what only a broken client sends (a field of the
    wrong type, a missing idempotency key) stays in English, as the JSON plumbing's answers do."""


@dataclass(frozen=True)
class Submission:
    idempotency_key: str
    corrected_text: str = ""
    answer_grade: str = ""
    intent_correct: bool | None = None
    no_speech: bool = False
    unintelligible: bool = False
    other_language: bool = False
    accidental: bool = False
    seconds_spent: float = 0.0
    spans: tuple[Any, ...] = ()  # entity spans on the corrected text, as wiring "parse_submitted_spans" gives them
    listened_fraction: float | None = None  # share of the clip the page played, 0..1 (None: not reported)
    playback_rate: float | None = None  # mean speed while playing
    confirmed_unheard: bool = False  # Whisper's text unchanged, the clip not heard in full, and the reviewer said so
    amends: int | None = None  # the id of this reviewer's annotation of the task that this version replaces

    def check(self) -> None:
        if not self.idempotency_key or len(self.idempotency_key) > 64:
            raise SubmitError("idempotency_key is required (at most 64 characters)")
        if self.answer_grade and self.answer_grade not in Annotation.Grade.values:
            raise SubmitError(f"answer_grade must be one of {', '.join(Annotation.Grade.values)}")
        if len(self.corrected_text) > MAX_TEXT:
            raise SubmitError(
                ngettext(
                    "the transcript is longer than %(max)s character",
                    "the transcript is longer than %(max)s characters",
                    MAX_TEXT,
                )
                % {"max": MAX_TEXT}
            )
        if not self.accidental and not (self.no_speech or self.unintelligible) and not self.corrected_text.strip():
            raise SubmitError(
                gettext("the transcript is empty: type what you hear, or mark no speech / unintelligible")
            )
        if self.listened_fraction is not None and not 0 <= self.listened_fraction <= 1:
            raise SubmitError("listened_fraction must be between 0 and 1")
        if self.playback_rate is not None and not MIN_RATE <= self.playback_rate <= MAX_RATE:
            raise SubmitError(f"playback_rate must be between {MIN_RATE:g} and {MAX_RATE:g}")
        if self.spans and not self.accidental:
            try:
                wiring.call("check_submitted_spans", spans=self.spans, text=self.corrected_text)
            except ValueError as exc:  # a wired step refuses with ValueError and a message
                raise SubmitError(str(exc)) from None


def submit(*, user, task_id: int, submission: Submission) -> tuple[Annotation, bool]:
    """Store the reviewer's annotation of a held task. Returns (annotation, created).

    Two statements on PostgreSQL: the task marked done (with the clip's lock, then the
    task's: claims.finish_held) and the annotation stored. What follows from it (gold and
    agreement scores, the final transcript, the live dashboard) is derived by a worker
    after the commit: the stored annotation is the outbox entry (annotate.quality.services.
    derive_pending), and the commit kicks a worker to derive it.

    Idempotent: the same idempotency key returns the stored annotation, so a retried or
    doubled submit stores one annotation, also when the retry arrived while the first
    attempt was still being saved (it waits on the clip's lock, then finds the task done
    and the annotation stored). The key is looked up only when the submit cannot go ahead.
    """
    submission.check()
    if submission.amends is not None:
        earlier = _stored_under(submission.idempotency_key, user=user)
        if earlier is not None:
            return earlier, False
        return _amend(user=user, task_id=task_id, submission=submission), True
    try:
        return _submit(user=user, task_id=task_id, submission=submission), True
    except ClaimError:
        earlier = _stored_under(submission.idempotency_key, user=user)
        if earlier is None:
            raise
        return earlier, False
    except IntegrityError:  # the key is taken, or the task has its annotation already
        earlier = _stored_under(submission.idempotency_key, user=user)
        if earlier is None:
            raise ClaimError(gettext("you already submitted this clip"), reason=ClaimError.SUBMITTED) from None
        return earlier, False


def _stored_under(key: str, *, user) -> Annotation | None:
    """The annotation this reviewer stored under the idempotency key; a key of someone else's is refused."""
    existing = Annotation.objects.filter(idempotency_key=key).first()
    if existing is not None and existing.reviewer_id != user.pk:
        raise SubmitError("idempotency_key already used")
    return existing


@transaction.atomic
def _submit(*, user, task_id: int, submission: Submission) -> Annotation:
    task = finish_held(user=user, task_id=task_id)  # the clip's lock, then the task's
    if task is None:
        raise not_held(user=user, task_id=task_id)
    return _store(user=user, task=task, submission=submission)


@transaction.atomic
def _amend(*, user, task_id: int, submission: Submission) -> Annotation:
    """Undo of the last submit: the reviewer's new version replaces their annotation of the task,
    while the clip is still theirs to change (ANNOTATE_AMEND_SECONDS after the submit).

    The old annotation goes with what was derived from it (its spans, gold and agreement
    scores; a reviewers' final text and agreement are derived again), so the quality
    figures count the new version only.
    """
    task = lock_task(task_id=task_id, claimed_by=user, state=Task.State.DONE)  # the clip's lock, then the task's
    old = Annotation.objects.filter(task_id=task_id, reviewer=user).first() if task is not None else None
    if task is None or old is None or old.pk != submission.amends:
        raise ClaimError(
            gettext("there is no earlier version of yours to replace on this clip"), reason=ClaimError.SUBMITTED
        )
    window = timedelta(seconds=settings.ANNOTATE_AMEND_SECONDS)
    if task.done_at is None or timezone.now() - task.done_at > window:
        minutes = settings.ANNOTATE_AMEND_SECONDS // 60
        raise ClaimError(
            ngettext(
                "this clip can no longer be changed: the %(minutes)s minute to undo a submit has passed",
                "this clip can no longer be changed: the %(minutes)s minutes to undo a submit have passed",
                minutes,
            )
            % {"minutes": minutes},
            reason=ClaimError.SUBMITTED,
        )
    if old.accidental or task.clip.state == Clip.State.PURGED:
        raise ClaimError(
            gettext("this clip was marked an accidental recording and its audio deleted"),
            reason=ClaimError.WITHDRAWN,
        )
    if task.clip.cases.exists():  # flagged since (annotate.escalation): an officer has it now
        raise ClaimError(
            gettext("this clip was flagged and went to escalation: it can no longer be changed"),
            reason=ClaimError.ESCALATED,
        )
    wiring.call("annotation_replaced", annotation=old)
    old.delete()
    now = timezone.now()
    Task.objects.filter(pk=task_id).update(done_at=now)  # the new version may be undone in its turn
    return _store(user=user, task=finished(task), submission=submission, amended_at=now)


def _store(*, user, task: Finished, submission: Submission, amended_at=None) -> Annotation:
    accidental = submission.accidental
    whisper_text = task.whisper_text
    corrected = "" if accidental else submission.corrected_text.strip()
    wer, cer = (None, None) if accidental else error_rates(reference=corrected, hypothesis=whisper_text)
    annotation = Annotation(
        task_id=task.task_id,
        clip_id=task.clip_id,
        reviewer=user,
        idempotency_key=submission.idempotency_key,
        corrected_text=corrected,
        whisper_text="" if accidental else whisper_text,
        whisper_model=task.whisper_model,
        answer_grade=submission.answer_grade,
        intent_correct=submission.intent_correct,
        no_speech=submission.no_speech,
        unintelligible=submission.unintelligible,
        other_language=submission.other_language,
        accidental=accidental,
        seconds_spent=max(0.0, min(float(submission.seconds_spent), 24 * 3600.0)),
        wer=wer,
        cer=cer,
        listened_fraction=submission.listened_fraction,
        playback_rate=submission.playback_rate,
        unchanged=bool(not accidental and whisper_text and normalise(corrected) == normalise(whisper_text)),
        confirmed_unheard=submission.confirmed_unheard,
        amended_at=amended_at,
    )
    sql.insert(annotation)  # prepared: the ORM's INSERT building was 8 % of a submit's CPU
    if submission.spans and not accidental:
        try:
            wiring.call(
                "store_submitted_spans",
                annotation=annotation,
                spans=submission.spans,
                typed_text=submission.corrected_text,
                user=user,
            )
        except ValueError as exc:
            raise SubmitError(str(exc)) from None
    if accidental and not task.is_gold:  # a gold clip is known speech: it is scored, never purged
        discard_accidental_recording(clip=Clip.objects.get(pk=task.clip_id), marked_on=task.task_id)
    # Gold score, overlap agreement, the final transcript, the live dashboard: after the commit.
    jobs.kick("default", settings.ANNOTATE_WIRING["derive_annotations"])
    return annotation


def discard_accidental_recording(*, clip, marked_on: int) -> None:
    """The one rule for a recording made without a wake word or a request (marked by a reviewer).

    In the submit's transaction, with the clip's row locked: no one else is served the
    clip (its other open tasks are withdrawn; a reviewer holding one stays named on it,
    so their next submit is told why it went), and its audio and every transcript of it
    are purged (clips.services.purge_clip). The marking annotation keeps no text
    (the submit stores none), and the quality rules, exports and catalog mining all
    leave accidental annotations out.
    """
    Task.objects.filter(clip=clip).exclude(pk=marked_on).exclude(state=Task.State.DONE).update(
        state=Task.State.WITHDRAWN, lease_expires_at=None
    )
    purge_clip(clip=clip, reason="accidental recording")
