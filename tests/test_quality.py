"""Quality: overlap (k reviewers per clip), agreement, gold clips, final transcripts, adjudication."""

from __future__ import annotations

import json
import random

import pytest
from django.apps import apps

from annotate.audit.models import AuditEvent
from annotate.clips.models import Clip, MachineTranscript
from annotate.jobs import services as jobs
from annotate.leads import selectors
from annotate.quality import services as quality
from annotate.quality.models import AgreementScore, ClipAgreement, FinalTranscript, GoldScore, WhisperScore
from annotate.queues import claims
from annotate.queues.models import GoldClip, Task
from annotate.queues.services import gold_count, mix_gold, sample_clip
from annotate.review import metrics
from annotate.review import selectors as review_selectors
from annotate.review.models import Annotation
from annotate.review.services import Submission, submit
from tests.factories import derived, make_clip, make_queue, reviewed
from tests.support import make_user

pytestmark = pytest.mark.django_db


def review(user, queue, text: str, **fields):
    """The reviewer claims the next clip of the queue and submits `text` for it, having heard it all."""
    fields.setdefault("listened_fraction", 1.0)
    return reviewed(user, queue, text, **fields)


@pytest.fixture
def third_reviewer(db):
    return make_user("rosa", "reviewer")


# --- overlap -----------------------------------------------------------------------------------


def test_a_queue_with_overlap_k_gets_k_tasks_per_clip(reviewer):
    queue = make_queue(reviewer, overlap=3)
    clip = make_clip("play halo")
    assert sorted(Task.objects.filter(queue=queue, clip=clip).values_list("slot", flat=True)) == [0, 1, 2]


def test_a_reviewer_never_gets_two_tasks_of_the_same_clip(reviewer, other_reviewer):
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    first, second = make_clip("one"), make_clip("two")
    mine = [claims.claim_next(user=reviewer, queue=queue) for _ in range(3)]
    assert [t.clip if t else None for t in mine] == [first, second, None]
    theirs = [claims.claim_next(user=other_reviewer, queue=queue) for _ in range(3)]
    assert [t.clip if t else None for t in theirs] == [first, second, None]


def test_a_clip_the_reviewer_annotated_is_not_served_again_even_after_its_other_slot_expires(reviewer, other_reviewer):
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    make_clip("one")
    review(reviewer, queue, "one")
    assert claims.claim_next(user=reviewer, queue=queue) is None
    assert claims.claim_next(user=other_reviewer, queue=queue) is not None


def test_skipping_a_clip_skips_all_its_slots(reviewer, other_reviewer):
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    make_clip("one")
    task = claims.claim_next(user=reviewer, queue=queue)
    claims.skip(user=reviewer, task_id=task.pk, reason="unsure")
    assert claims.claim_next(user=reviewer, queue=queue) is None


def test_all_my_queues_serves_by_priority_then_age(reviewer):
    low = make_queue(reviewer, name="low", priority=0)
    high = make_queue(reviewer, name="high", priority=5)
    first, second = make_clip("one"), make_clip("two")
    served = [claims.claim_next(user=reviewer) for _ in range(4)]
    assert [(t.queue, t.clip) for t in served] == [(high, first), (high, second), (low, first), (low, second)]


def test_agreeing_reviewers_make_a_consensus_final(reviewer, other_reviewer):
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    clip = make_clip("play shake it of")
    review(reviewer, queue, "Play Shake It Off.")
    assert not ClipAgreement.objects.exists()  # not until the k-th review
    review(other_reviewer, queue, "play shake it off")
    agreement = ClipAgreement.objects.get(clip=clip)
    assert (agreement.reviewers, agreement.mean_wer, agreement.agreement) == (2, 0.0, 1.0)
    assert not agreement.needs_adjudication
    final = FinalTranscript.objects.get(clip=clip)
    assert (final.text, final.source) == ("Play Shake It Off.", "consensus")
    assert sorted(AgreementScore.objects.values_list("agreement", flat=True)) == [1.0, 1.0]
    # Whisper heard "of" for "off": 1 error in 4 words.
    assert WhisperScore.objects.get(clip=clip).wer == 0.25


def test_disagreeing_reviewers_wait_for_adjudication(reviewer, other_reviewer, third_reviewer):
    queue = make_queue(reviewer, other_reviewer, third_reviewer, overlap=3)
    clip = make_clip("play halo")
    review(reviewer, queue, "play halo by beyonce")
    review(other_reviewer, queue, "play halo by beyonce")
    review(third_reviewer, queue, "play hello by beyonce")
    agreement = ClipAgreement.objects.get(clip=clip)
    assert agreement.needs_adjudication
    assert 0 < agreement.mean_wer < 1 and agreement.agreement == round(1 - agreement.mean_wer, 4)
    assert not FinalTranscript.objects.filter(clip=clip).exists()
    scores = dict(AgreementScore.objects.values_list("reviewer__username", "agreement"))
    assert scores["rosa"] < scores["rita"] == scores["ravi"] < 1
    assert list(selectors.disagreements()) == [agreement]


def test_per_clip_and_per_reviewer_agreement_measures():
    assert metrics.pair_wer("play halo", "play halo") == 0.0
    assert metrics.pair_wer("play halo", "") == 1.0
    assert metrics.pair_wer("", "") == 0.0
    assert metrics.pair_wer("a b c d", "a b c x") == 0.25
    assert quality.jaccard({1, 2}, {2, 3}) == pytest.approx(1 / 3)
    assert quality.jaccard(set(), set()) == 1.0


def test_entity_agreement_where_spans_exist(reviewer, other_reviewer):
    span_model = apps.get_model("catalog", "EntitySpan")
    kind_model = apps.get_model("catalog", "EntityKind")
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    make_clip("play halo by beyonce")
    _, first = review(reviewer, queue, "play halo by beyonce")
    _, second = review(other_reviewer, queue, "play halo by beyonce")
    kind = kind_model.objects.first() or kind_model.objects.create(slug="artist", name="artist")
    for annotation in (first, second):
        span_model.objects.create(
            annotation=annotation, start=13, end=20, text="beyonce", kind=kind, created_by=annotation.reviewer
        )
    span_model.objects.create(annotation=first, start=5, end=9, text="halo", kind=kind, created_by=reviewer)
    assert quality.entity_agreement([first, second]) == 0.5
    assert quality.entity_agreement([first]) is None


def test_no_spans_means_no_entity_agreement(reviewer, other_reviewer):
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    clip = make_clip("one")
    review(reviewer, queue, "one")
    review(other_reviewer, queue, "one")
    assert ClipAgreement.objects.get(clip=clip).entity_agreement is None


# --- adjudication ---------------------------------------------------------------------------------


def test_a_lead_adjudicates_side_by_side_and_the_final_text_is_what_exports_use(client, reviewer, other_reviewer, lead):
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    clip = make_clip("play hello")
    _, first = review(reviewer, queue, "play halo")
    review(other_reviewer, queue, "play hello")
    assert not selectors.exportable_finals().filter(clip=clip).exists()

    client.force_login(lead)
    listing = client.get("/lead/adjudicate/")
    assert clip.public_id in listing.content.decode()
    page = client.get(f"/lead/adjudicate/{clip.public_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "play halo" in html and "play hello" in html and "rita" in html and "ravi" in html
    assert page.context["audio_url"].startswith("/lead/audio/")

    response = client.post(
        f"/lead/adjudicate/{clip.public_id}/", {"text": "Play Halo", "annotation": first.pk, "gold_queue": ""}
    )
    assert response.status_code == 302
    final = FinalTranscript.objects.get(clip=clip)
    assert (final.text, final.source, final.decided_by, final.annotation) == ("Play Halo", "adjudicated", lead, first)
    assert ClipAgreement.objects.get(clip=clip).resolved_at is not None
    assert list(selectors.disagreements()) == []
    assert [f.text for f in selectors.exportable_finals()] == ["Play Halo"]
    assert WhisperScore.objects.get(clip=clip).wer == 0.5  # "play hello" against "play halo"
    assert AuditEvent.objects.filter(action="adjudicate", actor=lead, clip_public_id=clip.public_id).exists()


def test_adjudication_refuses_an_empty_final(client, reviewer, other_reviewer, lead):
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    clip = make_clip("x")
    review(reviewer, queue, "a")
    review(other_reviewer, queue, "b")
    client.force_login(lead)
    response = client.post(f"/lead/adjudicate/{clip.public_id}/", {"text": "   "})
    assert response.status_code == 400
    assert not FinalTranscript.objects.filter(clip=clip).exists()


def test_a_single_review_is_final_and_a_reviewers_final_never_overrides_a_leads(reviewer, lead):
    queue = make_queue(reviewer)
    clip = make_clip("set a timer")
    review(reviewer, queue, "set a timer for ten")
    assert FinalTranscript.objects.get(clip=clip).source == "single"
    quality.adjudicate(clip=clip, text="set a timer for ten minutes", lead=lead)
    quality.set_final(clip=clip, text="something else", source="consensus")
    assert FinalTranscript.objects.get(clip=clip).text == "set a timer for ten minutes"


@pytest.mark.parametrize("marker", ["no_speech", "unintelligible", "other_language"])
def test_untrustworthy_transcripts_are_not_final(reviewer, marker):
    queue = make_queue(reviewer)
    clip = make_clip("mumble")
    review(reviewer, queue, "mumble", **{marker: True})
    assert not FinalTranscript.objects.filter(clip=clip).exists()


# --- gold ---------------------------------------------------------------------------------------------


@pytest.fixture
def gold_queue(reviewer, other_reviewer, lead):
    queue = make_queue(reviewer, other_reviewer, name="Music", locales=["en-US"])
    clip = make_clip("play halo by beyonce", locale="xx-XX")  # sampled into no queue
    quality.add_gold(queue=queue, clip=clip, reference_text="Play Halo by Beyonce.", lead=lead)
    return queue


def test_gold_count_matches_the_ratio():
    class Q:
        overlap, gold_ratio = 1, 0.2

    rng = random.Random(7)
    counts = [gold_count(queue=Q, rng=rng) for _ in range(4000)]
    # ratio r: r / (1 - r) gold tasks per real task, i.e. 20% of all tasks.
    share = sum(counts) / (sum(counts) + len(counts))
    assert 0.18 < share < 0.22
    Q.overlap, Q.gold_ratio = 2, 0.5
    assert gold_count(queue=Q, rng=rng) == 2


def test_gold_tasks_are_mixed_in_at_sampling(gold_queue):
    gold_queue.gold_ratio = 0.5  # one gold task per sampled clip
    gold_queue.save()
    clip = make_clip("set a timer")
    assert Task.objects.filter(queue=gold_queue, clip=clip).count() == 1
    golds = Task.objects.filter(queue=gold_queue, is_gold=True)
    assert golds.count() == 1
    make_clip("another")
    assert golds.count() == 2
    assert sorted(golds.values_list("slot", flat=True)) == [1, 2]


def test_a_gold_task_looks_like_any_other_and_is_scored_against_the_reference(gold_queue, reviewer, lead):
    real = make_clip("set a timer for ten minutes")
    mix_gold(queue=gold_queue, count=1)
    held = claims.claim_for_review(user=reviewer, queue_id=gold_queue.pk)
    gold_task = next(t for t in held if t.clip_public_id != real.public_id)
    real_task = next(t for t in held if t.clip_public_id == real.public_id)
    assert Task.objects.get(pk=gold_task.task_id).is_gold
    gold_payload = review_selectors.task_payload(task=gold_task, user=reviewer)
    real_payload = review_selectors.task_payload(task=real_task, user=reviewer)

    def shape(value):
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items()}
        if isinstance(value, list):
            return [shape(value[0])] if value else []
        return type(value).__name__

    assert shape(gold_payload) == shape(real_payload)
    assert "gold" not in json.dumps({**gold_payload, "audio_url": ""}).lower()

    annotation, _ = submit(
        user=reviewer,
        task_id=gold_task.task_id,
        submission=Submission(idempotency_key="g1", corrected_text="play hello by beyonce"),
    )
    derived()
    score = GoldScore.objects.get(annotation=annotation)
    assert (score.reviewer, score.queue, score.wer, score.accuracy) == (reviewer, gold_queue, 0.25, 0.75)
    # The gold clip's final text stays the reference.
    assert FinalTranscript.objects.get(clip__public_id=gold_task.clip_public_id).text == "Play Halo by Beyonce."


def test_each_reviewer_meets_a_gold_clip_once(gold_queue, reviewer, other_reviewer):
    mix_gold(queue=gold_queue, count=1)
    mix_gold(queue=gold_queue, count=1)
    task, _ = review(reviewer, gold_queue, "play halo by beyonce")
    assert task.is_gold
    assert claims.claim_next(user=reviewer, queue=gold_queue) is None
    assert claims.claim_next(user=other_reviewer, queue=gold_queue).is_gold


def test_an_accidental_mark_on_a_gold_clip_scores_zero_and_purges_nothing(gold_queue, reviewer):
    mix_gold(queue=gold_queue, count=1)
    task, annotation = review(reviewer, gold_queue, "", accidental=True)
    assert GoldScore.objects.get(annotation=annotation).accuracy == 0.0
    clip = Clip.objects.get(pk=task.clip_id)
    assert clip.state == Clip.State.READY and clip.audio_name


def test_an_accidental_recording_leaves_no_final_transcript(reviewer):
    queue = make_queue(reviewer)
    clip = make_clip("no wake word")
    review(reviewer, queue, "", accidental=True)
    assert not FinalTranscript.objects.filter(clip=clip).exists()
    assert not WhisperScore.objects.filter(clip=clip).exists()


def test_retired_gold_is_no_longer_served(gold_queue, reviewer):
    mix_gold(queue=gold_queue, count=1)
    gold = GoldClip.objects.get(queue=gold_queue)
    quality.retire_gold(gold=gold)
    assert claims.claim_next(user=reviewer, queue=gold_queue) is None
    assert mix_gold(queue=gold_queue, count=1) == []


def test_only_transcribed_clips_with_audio_can_be_gold(reviewer, lead):
    queue = make_queue(reviewer)
    clip = make_clip("x", with_audio=False)
    with pytest.raises(ValueError, match="audio"):
        quality.add_gold(queue=queue, clip=clip, reference_text="x", lead=lead)
    with pytest.raises(ValueError, match="reference"):
        quality.add_gold(queue=queue, clip=make_clip("y"), reference_text=" ", lead=lead)


def test_sampling_with_a_fixed_rng_is_deterministic(reviewer):
    queue = make_queue(reviewer, sample_rate=0.5)
    clip = make_clip("x", locale="zz-ZZ")
    Task.objects.filter(clip=clip).delete()
    Clip.objects.filter(pk=clip.pk).update(locale="en-US")
    clip.refresh_from_db()
    rng = random.Random(1)
    expected = rng.random() < 0.5
    created = sample_clip(clip=clip, rng=random.Random(1))
    assert bool(created) == expected and all(t.queue == queue for t in created)


# --- Whisper WER per model -----------------------------------------------------------------------------


def test_whisper_wer_is_tracked_per_model_against_the_final_text(reviewer, lead):
    queue = make_queue(reviewer)
    clip = make_clip("play shake it of")
    MachineTranscript.objects.create(clip=clip, model_name="small.en", text="play shake it off")
    review(reviewer, queue, "play shake it off")
    quality.adjudicate(clip=clip, text="play shake it off", lead=lead)
    scores = dict(WhisperScore.objects.filter(clip=clip).values_list("model_name", "wer"))
    assert scores == {"tiny.en": 0.25, "small.en": 0.0}
    whisper = {row["model"]: row for row in selectors.dashboard()["whisper"]}
    assert whisper["tiny.en"]["wer"] == 0.25 and whisper["small.en"]["wer"] == 0.0


def test_an_adjudicated_clip_can_become_gold(client, reviewer, other_reviewer, lead):
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    clip = make_clip("play halo")
    review(reviewer, queue, "play halo")
    review(other_reviewer, queue, "play hello")
    client.force_login(lead)
    response = client.post(f"/lead/adjudicate/{clip.public_id}/", {"text": "play halo", "gold_queue": queue.pk})
    assert response.status_code == 302
    gold = GoldClip.objects.get(queue=queue, clip=clip)
    assert gold.reference_text == "play halo" and gold.created_by == lead
    assert FinalTranscript.objects.get(clip=clip).text == "play halo"


# --- the annotation outbox ------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_kicks_coalesce_while_one_waits_and_none_is_missed(queue, reviewer, rq_queues):
    """Each submit kicks the default worker; while one kick waits in RQ, more submits add no job
    (at 150 submits a second the worker would otherwise run 150 jobs a second). The kick's run
    clears its mark first, so a submit after it starts queues a run of its own."""
    import django_rq
    from rq import SimpleWorker

    rq_queue = django_rq.get_queue("default")

    def kicks() -> int:
        return sum(1 for job in rq_queue.jobs if job.description.startswith("kick "))

    def submitted(text: str) -> None:
        task = claims.claim_next(user=reviewer, queue=queue)
        submit(user=reviewer, task_id=task.pk, submission=Submission(idempotency_key=text, corrected_text=text))

    for i in range(3):
        make_clip(f"clip {i}")
    submitted("one")
    submitted("two")
    assert kicks() == 1
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
    assert Annotation.objects.filter(derived_at__isnull=True).count() == 0  # both derived by the one run
    submitted("three")
    assert kicks() == 1  # the mark was cleared when the run started: a new kick
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
    assert Annotation.objects.filter(derived_at__isnull=True).count() == 0


def test_what_follows_a_submit_is_derived_after_it_by_the_worker_or_the_sweeper(queue, reviewer):
    """A submit stores the annotation only; the final transcript and Whisper's score follow when a
    worker derives it: kicked after the commit, or found by the sweeper when the kick was lost."""
    clip = make_clip("set a timer for ten minutes")
    task = claims.claim_next(user=reviewer, queue=queue)
    annotation, _ = submit(
        user=reviewer,
        task_id=task.pk,
        submission=Submission(idempotency_key="k", corrected_text="set a timer for 10 minutes", listened_fraction=1.0),
    )
    assert annotation.derived_at is None
    assert not FinalTranscript.objects.filter(clip=clip).exists()
    assert jobs.sweep()["derive_pending"] == 1  # the kick never reached a worker: the sweeper's hook derives it
    annotation.refresh_from_db()
    assert annotation.derived_at is not None
    assert FinalTranscript.objects.get(clip=clip).text == "set a timer for 10 minutes"
    assert WhisperScore.objects.filter(clip=clip).count() == 1
    assert quality.derive_pending() == 0  # once
