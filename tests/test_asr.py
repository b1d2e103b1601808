"""Whisper transcripts: a job on the `asr` queue (Redis), or in process without Redis.

Real Redis, the documented worker's class in burst mode and the real tiny.en
model; kept to a few Whisper runs because each takes about a second.
"""

from __future__ import annotations

import django_rq
import pytest
from django.db import transaction

from annotate.clips import asr, ingest
from annotate.clips.jobs import transcribe_clip_job
from annotate.clips.models import Clip, MachineTranscript
from annotate.jobs import services as jobs
from annotate.jobs.models import Job
from annotate.jobs.worker import Worker
from tests.support import AUDIO, clip_meta

transactional = pytest.mark.django_db(transaction=True)  # the job is enqueued on commit


def import_clip(name: str) -> Clip:
    result = ingest.ingest_clip(data=(AUDIO / name).read_bytes(), meta=ingest.parse_meta(clip_meta()))
    assert result.clip is not None, result.message
    return result.clip


def run_asr_worker() -> None:
    queue = django_rq.get_queue("asr")
    Worker([queue], connection=queue.connection).work(burst=True)


def assert_good_transcript(clip: Clip) -> MachineTranscript:
    clip.refresh_from_db()
    assert clip.state == Clip.State.READY, clip.asr_error
    assert clip.asr_error == ""
    transcript = MachineTranscript.objects.get(clip=clip)
    assert "timer" in transcript.text.lower()
    assert (transcript.model_name, transcript.language) == ("tiny.en", "en")
    assert transcript.words
    for word in transcript.words:
        assert set(word) == {"word", "start", "end", "probability"}
        assert 0 <= word["start"] <= word["end"] <= clip.duration_seconds + 0.5
        assert 0 <= word["probability"] <= 1
    assert transcript.segments and transcript.seconds_taken > 0
    return transcript


# --- with Redis: RQ --------------------------------------------------------------------------


@pytest.mark.redis
@transactional
def test_rq_worker_transcribes_clips_with_one_model_load(rq_queues):
    asr.get_model.cache_clear()  # prove the model is loaded once for two clips
    first, second = import_clip("timer.ogg"), import_clip("timer.mp3")
    queue = django_rq.get_queue("asr")
    assert queue.count == 2  # enqueued on commit, not run in process
    assert Clip.objects.get(pk=first.pk).state == Clip.State.PENDING_ASR

    run_asr_worker()

    assert_good_transcript(first)
    assert_good_transcript(second)
    assert asr.get_model.cache_info().misses == 1  # one model load
    # the first job took the second clip along: one Whisper window for both (issue 15)
    assert set(MachineTranscript.objects.values_list("decoding", "window_clips")) == {("packed", 2)}
    assert queue.count == 0
    assert len(queue.finished_job_registry.get_job_ids()) == 2
    assert queue.failed_job_registry.count == 0
    assert set(Job.objects.values_list("state", "attempts")) == {(Job.State.DONE, 1)}


@pytest.mark.redis
@transactional
def test_a_clip_already_transcribed_is_not_transcribed_again(rq_queues):
    clip = import_clip("timer.ogg")
    run_asr_worker()
    first = assert_good_transcript(clip)

    assert asr.requeue() == (0, 0)  # nothing waiting: requeue_asr leaves a ready clip alone
    transcribe_clip_job(clip.pk)  # a stray second run (say, an operator's) costs nothing

    assert MachineTranscript.objects.get(clip=clip).seconds_taken == first.seconds_taken


@pytest.mark.redis
@transactional
def test_retries_run_without_an_rq_scheduler_then_fail_visibly(settings, rq_queues, private_storage):
    settings.ANNOTATE_ASR_RETRY_INTERVALS = [0]  # read when the job is recorded: set before ingest
    settings.ANNOTATE_ASR_RETRIES = 2
    clip = import_clip("timer.ogg")
    (private_storage / clip.audio_name).unlink()  # the audio vanished before Whisper ran
    queue = django_rq.get_queue("asr")

    for _ in range(3):  # each worker pass runs one attempt; the sweeper enqueues the retry when it is due
        run_asr_worker()
        jobs.sweep()

    clip.refresh_from_db()
    assert clip.state == Clip.State.ASR_FAILED
    assert clip.asr_attempts == 3
    assert "FileNotFoundError" in clip.asr_error
    assert not MachineTranscript.objects.filter(clip=clip).exists()
    job = Job.objects.get(key=asr.job_key(clip.pk))
    assert (job.state, job.attempts, job.max_attempts) == (Job.State.FAILED, 3, 3)
    assert "FileNotFoundError" in job.last_error
    assert queue.count == 0
    assert queue.scheduled_job_registry.count == 0


@pytest.mark.redis
@transactional
def test_a_failure_that_will_be_retried_is_visible_too(settings, rq_queues, private_storage):
    settings.ANNOTATE_ASR_RETRY_INTERVALS = [3600]
    settings.ANNOTATE_ASR_RETRIES = 1
    clip = import_clip("timer.ogg")
    (private_storage / clip.audio_name).unlink()
    queue = django_rq.get_queue("asr")

    run_asr_worker()
    jobs.sweep()  # not due for an hour: the sweeper leaves it

    clip.refresh_from_db()
    assert clip.state == Clip.State.ASR_RETRYING
    assert "FileNotFoundError" in clip.asr_error
    job = Job.objects.get(key=asr.job_key(clip.pk))
    assert (job.state, job.attempts) == (Job.State.PENDING, 1)
    assert job.next_attempt_at > job.started_at
    assert queue.count == 0


# --- without Redis: in process, after commit ------------------------------------------------------


@transactional
def test_without_redis_the_transcript_is_stored_right_after_commit(settings):
    settings.REDIS_URL = ""

    clip = import_clip("timer.wav")

    assert_good_transcript(clip)


@transactional
def test_without_redis_a_failing_job_retries_and_ends_failed(settings, private_storage, caplog):
    settings.REDIS_URL = ""
    settings.ANNOTATE_ASR_RETRIES = 2

    with transaction.atomic():
        clip = import_clip("timer.ogg")
        (private_storage / clip.audio_name).unlink()  # before the commit that runs the job
        assert clip.state == Clip.State.PENDING_ASR

    clip.refresh_from_db()
    assert clip.state == Clip.State.ASR_FAILED
    assert clip.asr_attempts == 3
    assert "FileNotFoundError" in clip.asr_error
    messages = [r.getMessage() for r in caplog.records if r.name == "annotate.jobs.services"]
    assert len(messages) == 3, messages
    assert f"(asr:clip:{clip.pk}) attempt 1 failed, retrying in 0 s: FileNotFoundError" in messages[0]
    assert f"(asr:clip:{clip.pk}) attempt 2 failed, retrying in 0 s: FileNotFoundError" in messages[1]
    assert f"(asr:clip:{clip.pk}) failed for good after 3 attempt(s): FileNotFoundError" in messages[2]


@pytest.mark.django_db
def test_a_purged_clip_is_not_transcribed():
    clip = import_clip("timer.ogg")
    Clip.objects.filter(pk=clip.pk).update(state=Clip.State.PURGED, audio_name="")

    transcribe_clip_job(clip.pk, final_attempt=True)

    clip.refresh_from_db()
    assert clip.state == Clip.State.PURGED
    assert not MachineTranscript.objects.exists()


@pytest.mark.django_db
def test_record_failure_never_revives_a_purged_clip():
    clip = import_clip("timer.ogg")
    Clip.objects.filter(pk=clip.pk).update(state=Clip.State.PURGED)

    asr.record_failure(clip_id=clip.pk, error="boom", final=True)

    clip.refresh_from_db()
    assert (clip.state, clip.asr_error) == (Clip.State.PURGED, "")
