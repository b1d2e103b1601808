"""Quality services: gold scores, overlap agreement, final transcripts, Whisper WER per model.

What follows an annotation is derived after the submit, never in it: the stored
annotation is the outbox entry (`derived_at` null), and `derive_pending` (a kick from
the submit runs it on the `default` worker; the sweeper's hook runs it too, so a lost
kick only delays it) calls `after_annotation` for each, oldest first. A single review
records the final transcript and Whisper's score against it; only the last of k
overlapping reviews computes the clip's agreement.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from annotate import wiring
from annotate.clips.models import Clip, MachineTranscript
from annotate.clips.services import lock_clip
from annotate.quality.models import AgreementScore, ClipAgreement, FinalTranscript, GoldScore, WhisperScore
from annotate.queues.models import GoldClip, Queue, Task
from annotate.review.metrics import normalise, pair_wer, text_wer, word_errors
from annotate.review.models import Annotation

log = logging.getLogger(__name__)

# A lead's decision outranks the reviewers'; among equals the later one wins.
_RANK: dict[str, int] = {
    FinalTranscript.Source.SINGLE: 0,
    FinalTranscript.Source.CONSENSUS: 1,
    FinalTranscript.Source.GOLD: 2,
    FinalTranscript.Source.ADJUDICATED: 2,
}


# --- measures ----------------------------------------------------------------------------


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def usable_text(annotation: Annotation) -> str:
    """The transcript to train on, or "" when the reviewer said there is none to trust."""
    if annotation.accidental or annotation.no_speech or annotation.unintelligible or annotation.other_language:
        return ""
    return annotation.corrected_text.strip()


# --- after each annotation ------------------------------------------------------------------


def derive_pending(*, limit: int = 500) -> int:
    """Derive what follows each annotation not yet derived (the outbox), oldest first. Returns how many.

    Safe from several workers at once: each annotation is derived under its clip's lock
    (claims' lock order), and once. One that fails is logged and left for the next pass.
    """
    pending = list(
        Annotation.objects.filter(derived_at__isnull=True).order_by("pk").values_list("pk", "clip_id")[:limit]
    )
    derived = 0
    for annotation_id, clip_id in pending:
        try:
            derived += derive(annotation_id=annotation_id, clip_id=clip_id)
        except Exception:
            log.exception("annotation %s: deriving what follows it failed; the next pass tries again", annotation_id)
    return derived


@transaction.atomic
def derive(*, annotation_id: int, clip_id: int) -> bool:
    """after_annotation for one annotation, unless another worker did it meanwhile (or it is gone)."""
    lock_clip(clip_id)
    annotation = (
        Annotation.objects.select_related("task__queue").filter(pk=annotation_id, derived_at__isnull=True).first()
    )
    if annotation is None:
        return False
    after_annotation(annotation=annotation, task=annotation.task)
    Annotation.objects.filter(pk=annotation_id).update(derived_at=timezone.now())
    return True


def after_annotation(*, annotation: Annotation, task: Task) -> None:
    """Score the annotation (gold), fold it into the clip's agreement (overlap) and final text."""
    if task.is_gold:
        score_gold(annotation=annotation, task=task)
    elif annotation.accidental:
        # The clip is purged: nothing of it may be exported.
        FinalTranscript.objects.filter(clip_id=annotation.clip_id).delete()
        WhisperScore.objects.filter(clip_id=annotation.clip_id).delete()
    elif task.queue.overlap > 1:
        fold_overlap(annotation=annotation, task=task)
    else:
        record_single(annotation=annotation)
    transaction.on_commit(partial(wiring.call, "quality_changed", reason="annotation", queue_id=task.queue_id))


def score_gold(*, annotation: Annotation, task: Task) -> GoldScore | None:
    gold = GoldClip.objects.filter(queue_id=task.queue_id, clip_id=task.clip_id).first()
    if gold is None:  # the lead removed the reference meanwhile
        return None
    wer = 1.0 if annotation.accidental else text_wer(reference=gold.reference_text, hypothesis=usable_text(annotation))
    return GoldScore.objects.create(
        annotation=annotation,
        gold=gold,
        queue_id=task.queue_id,
        reviewer_id=annotation.reviewer_id,
        wer=wer,
        accuracy=round(max(0.0, 1.0 - wer), 4),
    )


def record_single(*, annotation: Annotation) -> None:
    """One reviewer per clip: their text is final unless a final exists (2 inserts, no reads)."""
    text = usable_text(annotation)
    if not text:
        return
    FinalTranscript.objects.bulk_create(
        [
            FinalTranscript(
                clip_id=annotation.clip_id,
                text=text,
                source=FinalTranscript.Source.SINGLE,
                annotation=annotation,
            )
        ],
        ignore_conflicts=True,
    )
    if annotation.whisper_model and annotation.heard_in_full:  # Whisper is scored against human hearing only
        errors, words = word_errors(reference=text, hypothesis=annotation.whisper_text)
        WhisperScore.objects.bulk_create(
            [
                WhisperScore(
                    clip_id=annotation.clip_id,
                    model_name=annotation.whisper_model,
                    errors=errors,
                    words=words,
                    wer=round(errors / words, 4) if words else 0.0,
                )
            ],
            ignore_conflicts=True,
        )


def fold_overlap(*, annotation: Annotation, task: Task) -> ClipAgreement | None:
    """When the last of the clip's k reviews arrives, measure their agreement."""
    # The clip's row lock (claims' lock order; submit holds it already) makes two last reviews
    # arriving together fold once: the second waits for the first's commit and sees both tasks done.
    lock_clip(task.clip_id)
    states = list(
        Task.objects.filter(queue_id=task.queue_id, clip_id=task.clip_id, is_gold=False)
        .exclude(state=Task.State.WITHDRAWN)
        .values_list("state", flat=True)
    )
    if len(states) < 2:  # sampled before the queue had overlap
        record_single(annotation=annotation)
        return None
    if any(state != Task.State.DONE for state in states):
        return None
    annotations = list(
        Annotation.objects.filter(task__queue_id=task.queue_id, task__clip_id=task.clip_id, task__is_gold=False)
        .order_by("created_at", "pk")
        .select_related("clip")
    )
    return measure_agreement(queue=task.queue, clip=annotation.clip, annotations=annotations)


def measure_agreement(*, queue: Queue, clip: Clip, annotations: Sequence[Annotation]) -> ClipAgreement | None:
    texts = [usable_text(a) for a in annotations]
    pairs = {(i, j): pair_wer(texts[i], texts[j]) for i, j in itertools.combinations(range(len(texts)), 2)}
    if not pairs:
        return None
    mean_wer = round(sum(pairs.values()) / len(pairs), 4)
    needs = mean_wer > settings.ANNOTATE_AGREEMENT_MAX_WER
    try:
        with transaction.atomic():
            agreement = ClipAgreement.objects.create(
                queue=queue,
                clip=clip,
                reviewers=len(annotations),
                mean_wer=mean_wer,
                agreement=round(max(0.0, 1.0 - mean_wer), 4),
                entity_agreement=entity_agreement(annotations),
                needs_adjudication=needs,
            )
    except IntegrityError:  # measured already (a retried submit)
        return ClipAgreement.objects.get(queue=queue, clip=clip)
    scores = []
    for i, annotation in enumerate(annotations):
        mine = [wer for pair, wer in pairs.items() if i in pair]
        wer = round(sum(mine) / len(mine), 4)
        scores.append(
            AgreementScore(
                annotation=annotation,
                clip_agreement=agreement,
                reviewer_id=annotation.reviewer_id,
                wer=wer,
                agreement=round(max(0.0, 1.0 - wer), 4),
            )
        )
    AgreementScore.objects.bulk_create(scores)
    if not needs:
        chosen = consensus(annotations)
        if chosen is not None:
            set_final(clip=clip, text=usable_text(chosen), source=FinalTranscript.Source.CONSENSUS, annotation=chosen)
    return agreement


def consensus(annotations: Sequence[Annotation]) -> Annotation | None:
    """The earliest annotation with the most common (normalised) usable text (preferring one heard in full)."""
    usable = [a for a in annotations if usable_text(a)]
    if not usable:
        return None
    counts = Counter(normalise(usable_text(a)) for a in usable)
    best = max(counts.values())
    agreeing = [a for a in usable if counts[normalise(usable_text(a))] == best]
    # Of equal texts, one a reviewer heard in full, so that Whisper may be scored against it.
    return next((a for a in agreeing if a.heard_in_full), agreeing[0])


def entity_agreement(annotations: Sequence[Annotation]) -> float | None:
    """Mean pairwise Jaccard of the reviewers' entity spans; None where nobody tagged any."""
    sets = wiring.call("entity_span_sets", annotations=annotations)
    if not any(sets) or len(sets) < 2:
        return None
    values = [jaccard(a, b) for a, b in itertools.combinations(sets, 2)]
    return round(sum(values) / len(values), 4)


# --- final transcripts ------------------------------------------------------------------------


@transaction.atomic
def set_final(
    *,
    clip: Clip,
    text: str,
    source: str,
    annotation: Annotation | None = None,
    decided_by=None,
) -> FinalTranscript:
    """Record the clip's final transcript (a lead's decision outranks the reviewers')
    and Whisper's error against it for every model that transcribed the clip."""
    lock_clip(clip.pk)  # claims' lock order: the clip, then what hangs off it
    existing = FinalTranscript.objects.select_for_update().filter(clip=clip).first()
    if existing is not None and _RANK[existing.source] > _RANK[source]:
        return existing
    final, _ = FinalTranscript.objects.update_or_create(
        clip=clip,
        defaults={"text": text.strip(), "source": source, "annotation": annotation, "decided_by": decided_by},
    )
    if heard_by_a_human(final):
        rescore_whisper(clip=clip, text=final.text)
    else:
        WhisperScore.objects.filter(clip=clip).delete()
    return final


def heard_by_a_human(final: FinalTranscript) -> bool:
    """Whether Whisper may be scored against this final text: a lead decided it (adjudicated, gold),
    or the reviewer whose text it is played the whole clip. A text submitted unheard would make
    Whisper look perfect (rubber-stamping), so it scores nothing."""
    if final.source in (FinalTranscript.Source.ADJUDICATED, FinalTranscript.Source.GOLD):
        return True
    return final.annotation is not None and final.annotation.heard_in_full


def forget_annotation(*, annotation: Annotation) -> None:
    """Wired to the review's undo (before the annotation is replaced by its reviewer's new version, the
    clip locked): what was derived from the old version goes, so after_annotation derives it again
    from the new one. A lead's decision (adjudicated, gold) stays."""
    ClipAgreement.objects.filter(clip_id=annotation.clip_id, queue_id=annotation.task.queue_id).delete()
    reviewers_final = FinalTranscript.objects.filter(
        clip_id=annotation.clip_id, source__in=[FinalTranscript.Source.SINGLE, FinalTranscript.Source.CONSENSUS]
    )
    if reviewers_final.exists():
        reviewers_final.delete()
        WhisperScore.objects.filter(clip_id=annotation.clip_id).delete()


def rescore_whisper(*, clip: Clip, text: str, transcripts: Iterable[MachineTranscript] | None = None) -> None:
    WhisperScore.objects.filter(clip=clip).delete()
    rows = []
    for transcript in transcripts if transcripts is not None else clip.machine_transcripts.all():
        errors, words = word_errors(reference=text, hypothesis=transcript.text)
        rows.append(
            WhisperScore(
                clip=clip,
                model_name=transcript.model_name,
                errors=errors,
                words=words,
                wer=round(errors / words, 4) if words else 0.0,
            )
        )
    WhisperScore.objects.bulk_create(rows)


@transaction.atomic
def adjudicate(*, clip: Clip, text: str, lead, annotation: Annotation | None = None) -> FinalTranscript:
    """A lead decides the clip's final transcript (picked from a reviewer, or edited)."""
    text = text.strip()
    if not text:
        raise ValueError(gettext("the final transcript is empty"))
    if len(text) > 5000:
        raise ValueError(gettext("the final transcript is longer than 5000 characters"))
    final = set_final(
        clip=clip, text=text, source=FinalTranscript.Source.ADJUDICATED, annotation=annotation, decided_by=lead
    )
    ClipAgreement.objects.filter(clip=clip, resolved_at__isnull=True).update(resolved_at=timezone.now())
    transaction.on_commit(partial(wiring.call, "quality_changed", reason="adjudication"))
    return final


# --- gold clips -------------------------------------------------------------------------------


@transaction.atomic
def add_gold(*, queue: Queue, clip: Clip, reference_text: str, lead) -> GoldClip:
    """Make a clip a gold clip of the queue, with its reference transcript (also its final text)."""
    reference_text = reference_text.strip()
    if not reference_text:
        raise ValueError(gettext("a gold clip needs a reference transcript"))
    if not clip.audio_name or clip.state != Clip.State.READY:
        raise ValueError(gettext("only a transcribed clip with its audio can be gold"))
    gold, _ = GoldClip.objects.update_or_create(
        queue=queue, clip=clip, defaults={"reference_text": reference_text, "active": True, "created_by": lead}
    )
    set_final(clip=clip, text=reference_text, source=FinalTranscript.Source.GOLD, decided_by=lead)
    return gold


@transaction.atomic
def retire_gold(*, gold: GoldClip) -> None:
    """No more gold tasks of this clip; the open ones are withdrawn."""
    lock_clip(gold.clip_id)  # claims' lock order: the clip before its tasks
    GoldClip.objects.filter(pk=gold.pk).update(active=False)
    Task.objects.filter(queue_id=gold.queue_id, clip_id=gold.clip_id, is_gold=True, state=Task.State.OPEN).update(
        state=Task.State.WITHDRAWN
    )
