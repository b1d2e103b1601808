"""The reviewer's loop: claim, lease, resume, skip, submit, accidental recordings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.clips.models import Clip, MachineTranscript
from annotate.queues import claims
from annotate.queues.models import Skip, Task
from annotate.review.metrics import error_rates
from annotate.review.models import Annotation
from annotate.review.services import Submission, SubmitError, submit
from tests.factories import make_clip, make_queue
from tests.support import post_json

pytestmark = pytest.mark.django_db


# --- claiming --------------------------------------------------------------------


def test_claim_gives_oldest_open_task_and_a_lease(queue, reviewer, settings):
    first, second = make_clip("one"), make_clip("two")
    task = claims.claim_next(user=reviewer, queue=queue)
    assert task.clip == first
    assert task.state == Task.State.CLAIMED and task.claimed_by == reviewer
    lease = (task.lease_expires_at - timezone.now()).total_seconds()
    assert settings.ANNOTATE_LEASE_SECONDS - 5 < lease <= settings.ANNOTATE_LEASE_SECONDS
    assert claims.claim_next(user=reviewer, queue=queue).clip == second


def test_two_reviewers_never_get_the_same_clip(queue, reviewer, other_reviewer):
    make_clip("one")
    assert claims.claim_next(user=reviewer, queue=queue) is not None
    assert claims.claim_next(user=other_reviewer, queue=queue) is None


def test_claim_holds_the_clip_under_review_and_one_prefetched(queue, reviewer, settings):
    settings.ANNOTATE_PREFETCH = 1
    for text in ("one", "two", "three"):
        make_clip(text)
    held = claims.claim_for_review(user=reviewer, queue_id=queue.pk)
    assert [t.whisper_text for t in held] == ["one", "two"]
    # Asking again claims nothing more.
    assert [t.task_id for t in claims.claim_for_review(user=reviewer, queue_id=queue.pk)] == [t.task_id for t in held]


def test_untranscribed_clips_are_not_served(queue, reviewer):
    clip = make_clip("one")
    Clip.objects.filter(pk=clip.pk).update(state=Clip.State.PENDING_ASR)
    assert claims.claim_next(user=reviewer, queue=queue) is None


def test_expired_lease_returns_the_clip_to_the_queue(queue, reviewer, other_reviewer):
    make_clip("one")
    task = claims.claim_next(user=reviewer, queue=queue)
    Task.objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    retaken = claims.claim_next(user=other_reviewer, queue=queue)
    assert retaken.pk == task.pk and retaken.claimed_by == other_reviewer
    # The first reviewer's late submit is refused: the clip is someone else's now.
    with pytest.raises(claims.ClaimError):
        submit(user=reviewer, task_id=task.pk, submission=Submission(idempotency_key="k1", corrected_text="one"))


def test_late_submit_is_accepted_if_nobody_took_the_clip(queue, reviewer):
    make_clip("one")
    task = claims.claim_next(user=reviewer, queue=queue)
    Task.objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    annotation, created = submit(
        user=reviewer, task_id=task.pk, submission=Submission(idempotency_key="k1", corrected_text="one")
    )
    assert created and annotation.corrected_text == "one"


def test_reopening_the_page_resumes_the_held_clip(client, queue, reviewer):
    make_clip("one")
    make_clip("two")
    make_clip("three")
    client.force_login(reviewer)
    first = client.get(f"/review/{queue.pk}/").context["state"]["tasks"]
    again = client.get(f"/review/{queue.pk}/").context["state"]["tasks"]
    assert [t["task_id"] for t in first] == [t["task_id"] for t in again]
    assert Task.objects.filter(claimed_by=reviewer, state=Task.State.CLAIMED).count() == 2


def test_renew_extends_the_lease(client, queue, reviewer):
    make_clip("one")
    task = claims.claim_next(user=reviewer, queue=queue)
    Task.objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=30))
    client.force_login(reviewer)
    response = client.post(f"/review/api/tasks/{task.pk}/renew")
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.lease_expires_at > timezone.now() + timedelta(seconds=500)


def test_skip_returns_the_clip_with_a_reason_and_not_to_the_same_reviewer(client, queue, reviewer, other_reviewer):
    make_clip("one")
    task = claims.claim_next(user=reviewer, queue=queue)
    client.force_login(reviewer)
    response = post_json(client, f"/review/api/tasks/{task.pk}/skip", {"reason": "language", "note": "Welsh?"})
    assert response.status_code == 200
    skip = Skip.objects.get()
    assert (skip.reviewer, skip.reason, skip.note) == (reviewer, "language", "Welsh?")
    task.refresh_from_db()
    assert task.state == Task.State.OPEN and task.claimed_by is None
    assert claims.claim_next(user=reviewer, queue=queue) is None
    assert claims.claim_next(user=other_reviewer, queue=queue).pk == task.pk


def test_skip_without_a_known_reason_is_refused(client, queue, reviewer):
    make_clip("one")
    task = claims.claim_next(user=reviewer, queue=queue)
    client.force_login(reviewer)
    response = post_json(client, f"/review/api/tasks/{task.pk}/skip", {"reason": "bored"})
    assert response.status_code == 400
    assert "unknown reason" in response.json()["error"]
    task.refresh_from_db()
    assert task.claimed_by == reviewer


# --- submitting ----------------------------------------------------------------------


def submit_body(**overrides):
    body = {
        "idempotency_key": "key-1",
        "corrected_text": "Set a timer for ten minutes.",
        "answer_grade": "right",
        "intent_correct": True,
        "seconds_spent": 21.5,
    }
    body.update(overrides)
    return body


def test_submit_stores_the_annotation_with_time_and_error_rates(client, queue, reviewer):
    make_clip("Set a timer for 10 minutes.")
    task = claims.claim_next(user=reviewer, queue=queue)
    client.force_login(reviewer)
    response = post_json(client, f"/review/api/tasks/{task.pk}/submit", submit_body())
    assert response.status_code == 201
    annotation = Annotation.objects.get()
    assert annotation.corrected_text == "Set a timer for ten minutes."
    assert annotation.whisper_text == "Set a timer for 10 minutes."
    assert annotation.whisper_model == "tiny.en"
    assert annotation.answer_grade == "right" and annotation.intent_correct is True
    assert annotation.seconds_spent == 21.5
    assert annotation.wer == pytest.approx(1 / 6, abs=1e-3)  # "10" for "ten"
    assert annotation.cer is not None and annotation.cer > 0
    assert response.json()["wer"] == annotation.wer
    task.refresh_from_db()
    assert task.state == Task.State.DONE and task.done_at is not None


def test_double_submit_stores_one_annotation(client, queue, reviewer):
    make_clip("one")
    task = claims.claim_next(user=reviewer, queue=queue)
    client.force_login(reviewer)
    first = post_json(client, f"/review/api/tasks/{task.pk}/submit", submit_body())
    second = post_json(client, f"/review/api/tasks/{task.pk}/submit", submit_body())
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["annotation_id"] == second.json()["annotation_id"]
    assert Annotation.objects.count() == 1


def test_a_second_submit_with_another_key_is_refused(client, queue, reviewer):
    make_clip("one")
    task = claims.claim_next(user=reviewer, queue=queue)
    client.force_login(reviewer)
    post_json(client, f"/review/api/tasks/{task.pk}/submit", submit_body())
    response = post_json(client, f"/review/api/tasks/{task.pk}/submit", submit_body(idempotency_key="key-2"))
    assert response.status_code == 409
    assert Annotation.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"corrected_text": "   "}, "the transcript is empty"),
        ({"answer_grade": "great"}, "answer_grade must be one of"),
        ({"idempotency_key": ""}, "idempotency_key is required"),
        ({"no_speech": "yes"}, "no_speech must be true or false"),
        ({"seconds_spent": "ten"}, "seconds_spent must be a number"),
        ({"intent_correct": "maybe"}, "intent_correct must be true, false or null"),
    ],
)
def test_bad_submissions_get_a_clear_message_and_store_nothing(client, queue, reviewer, body, message):
    make_clip("one")
    task = claims.claim_next(user=reviewer, queue=queue)
    client.force_login(reviewer)
    response = post_json(client, f"/review/api/tasks/{task.pk}/submit", submit_body(**body))
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert Annotation.objects.count() == 0
    task.refresh_from_db()
    assert task.state == Task.State.CLAIMED


def test_a_body_that_is_not_json_gets_a_clear_message(client, queue, reviewer):
    make_clip("one")
    task = claims.claim_next(user=reviewer, queue=queue)
    client.force_login(reviewer)
    response = client.post(f"/review/api/tasks/{task.pk}/submit", "{oops", content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_no_speech_may_have_an_empty_transcript(queue, reviewer):
    make_clip("um")
    task = claims.claim_next(user=reviewer, queue=queue)
    annotation, _ = submit(
        user=reviewer, task_id=task.pk, submission=Submission(idempotency_key="k", corrected_text="", no_speech=True)
    )
    assert annotation.no_speech and annotation.wer is None


def test_accidental_recording_keeps_no_transcript_and_purges_the_audio(
    queue, reviewer, private_storage, django_capture_on_commit_callbacks
):
    second_queue = make_queue(reviewer)
    clip = make_clip("did you remember to feed the cat")
    assert clip.tasks.count() == 2
    assert any(private_storage.rglob("*.bin"))
    task = claims.claim_next(user=reviewer, queue=queue)
    with django_capture_on_commit_callbacks(execute=True):
        annotation, _ = submit(
            user=reviewer,
            task_id=task.pk,
            submission=Submission(idempotency_key="k", corrected_text="did you remember", accidental=True),
        )
    assert annotation.accidental and annotation.corrected_text == "" and annotation.whisper_text == ""
    clip.refresh_from_db()
    assert clip.state == Clip.State.PURGED and clip.audio_name == "" and clip.heard == ""
    assert not MachineTranscript.objects.filter(clip=clip).exists()
    assert not any(private_storage.rglob("*.bin"))
    assert clip.tasks.get(queue=second_queue).state == Task.State.WITHDRAWN


# --- error rates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "hypothesis", "wer"),
    [
        ("play shake it off by taylor swift", "play shake it off by taylor swift", 0.0),
        ("Play Shake It Off by Taylor Swift.", "play shake it off, by taylor swift", 0.0),
        ("play shake it off by taylor swift", "please shake it off my taylor swift", 2 / 7),
        ("set a timer", "", 1.0),
        ("set a timer", "set a timer now please", 2 / 3),
    ],
)
def test_word_error_rate(reference, hypothesis, wer):
    assert error_rates(reference=reference, hypothesis=hypothesis)[0] == pytest.approx(wer, abs=1e-4)


def test_error_rates_are_undefined_against_an_empty_reference():
    assert error_rates(reference=" ", hypothesis="hello") == (None, None)


def test_submission_check_is_the_services_own():
    with pytest.raises(SubmitError):
        Submission(idempotency_key="", corrected_text="x").check()


def test_the_page_never_holds_two_tasks_of_one_clip_in_an_overlap_queue(reviewer, other_reviewer, settings):
    """Topping up claims several tasks at once: never two of one clip (its other slots are someone else's)."""
    settings.ANNOTATE_PREFETCH = 2
    queue = make_queue(reviewer, other_reviewer, overlap=3)
    for text in ("one", "two", "three", "four"):
        make_clip(text)
    held = claims.claim_for_review(user=reviewer, queue_id=queue.pk)
    assert [t.whisper_text for t in held] == ["one", "two", "three"]
    theirs = claims.claim_for_review(user=other_reviewer, queue_id=queue.pk)
    assert [t.whisper_text for t in theirs] == ["one", "two", "three"]
    assert not {t.task_id for t in held} & {t.task_id for t in theirs}
