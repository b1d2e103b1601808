"""Background work recorded in the database: nothing lost when Redis is, nothing run twice.

Real Redis and PostgreSQL; a Redis outage is a queue configuration pointing at a
port where nothing listens (the whole-stack outage, with a real redis-server
stopped and started, is in tests/topology).
"""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from datetime import timedelta

import django_rq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections, transaction
from django.utils import timezone

from annotate.clips import asr, ingest
from annotate.clips.models import Clip, MachineTranscript
from annotate.jobs import services as jobs
from annotate.jobs.models import Job
from annotate.jobs.worker import Worker
from tests.support import AUDIO, clip_meta, stored_files

transactional = pytest.mark.django_db(transaction=True)


def import_clip(name: str = "timer.ogg") -> Clip:
    result = ingest.ingest_clip(data=(AUDIO / name).read_bytes(), meta=ingest.parse_meta(clip_meta()))
    assert result.clip is not None, result.message
    return result.clip


def run_worker(queue_name: str = "asr") -> None:
    queue = django_rq.get_queue(queue_name)
    Worker([queue], connection=queue.connection).work(burst=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def rq_queues_at(url: str):
    """Every RQ queue points at `url` (a transport fault outside the product), restored on leaving."""
    from django_rq import settings as rq_settings

    saved = {name: rq_settings.QUEUES[name] for name in rq_settings.QUEUES}
    for name in saved:
        rq_settings.QUEUES[name] = {**saved[name], "URL": url}
    try:
        yield
    finally:
        rq_settings.QUEUES.update(saved)


@pytest.fixture
def redis_down():
    """RQ's Redis is down: a port where nothing listens. Leave the block to bring it back."""
    return rq_queues_at(f"redis://127.0.0.1:{free_port()}/0?socket_connect_timeout=1")


# --- Redis down at the moment of the commit ----------------------------------------------------


@pytest.mark.redis
@transactional
def test_an_upload_while_redis_is_down_is_stored_and_transcribed_when_it_is_back(
    client, ingest_client, rq_queues, private_storage, redis_down
):
    _, token = ingest_client
    data = (AUDIO / "timer.ogg").read_bytes()

    def upload():
        return client.post(
            "/api/v1/clips",
            {"audio": SimpleUploadedFile("timer.ogg", data), **clip_meta()},
            headers={"authorization": f"Bearer {token}"},
        )

    with redis_down:
        response = upload()

        assert response.status_code == 201, response.content  # stored: the outage is not the uploader's problem
        clip = Clip.objects.get()
        assert clip.state == Clip.State.PENDING_ASR
        assert stored_files(private_storage) != []  # the audio is kept
        job = Job.objects.get()
        assert (job.key, job.state, job.attempts) == (asr.job_key(clip.pk), Job.State.PENDING, 0)
        assert upload().status_code == 409  # the client's retry finds it stored, not lost

    # Redis is back
    assert jobs.sweep()["enqueued"] == 1
    run_worker()

    clip.refresh_from_db()
    assert clip.state == Clip.State.READY, clip.asr_error
    assert "timer" in MachineTranscript.objects.get(clip=clip).text.lower()
    assert Job.objects.get().state == Job.State.DONE


@pytest.mark.redis
@transactional
def test_a_redis_restart_that_lost_the_queue_loses_no_job(rq_queues):
    clip = import_clip()
    queue = django_rq.get_queue("asr")
    assert queue.count == 1
    queue.connection.flushdb()  # Redis restarted without persistence: every queued job is gone

    counts = jobs.sweep()

    assert counts["enqueued"] == 1
    run_worker()
    clip.refresh_from_db()
    assert clip.state == Clip.State.READY, clip.asr_error


@pytest.mark.redis
@transactional
def test_the_sweeper_does_not_enqueue_what_rq_already_holds(rq_queues):
    import_clip()
    queue = django_rq.get_queue("asr")

    for _ in range(3):
        assert jobs.sweep()["enqueued"] == 0

    assert queue.count == 1
    assert queue.get_job_ids() == [Job.objects.get().rq_id]  # the deterministic id


@pytest.mark.redis
@transactional
def test_a_job_enqueued_twice_runs_once(rq_queues):
    clip = import_clip()
    job = Job.objects.get()
    jobs.push(job)  # as if the sweeper and the commit both handed it to RQ
    assert django_rq.get_queue("asr").count == 2

    run_worker()

    assert MachineTranscript.objects.filter(clip=clip).count() == 1
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Job.State.DONE, 1)
    clip.refresh_from_db()
    assert clip.asr_attempts == 1  # Whisper ran once


@pytest.mark.redis
@transactional
def test_the_officer_mail_of_a_case_opened_during_an_outage_is_sent_when_redis_is_back(
    officer, reviewer, rq_queues, mailoutbox, redis_down
):
    from annotate.escalation.services import FlagInput, flag_clip
    from annotate.queues import claims
    from tests.factories import make_clip, make_queue

    officer.email = "olga@example.org"
    officer.save()
    queue = make_queue(reviewer)
    make_clip("help me somebody help", with_audio=False)
    task = claims.claim_next(user=reviewer, queue=queue)

    with redis_down:
        flag = flag_clip(user=reviewer, flag=FlagInput(task_id=task.pk, category="danger_now"))

    assert flag.case_id and mailoutbox == []
    assert Job.objects.get().key == f"mail:case:{flag.case_id}:case.new"
    jobs.sweep()
    run_worker("default")
    assert len(mailoutbox) == 1 and f"case {flag.case_id}" in mailoutbox[0].subject


@pytest.fixture
def redis_silent():
    """RQ's Redis hangs: it accepts connections and never answers."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # the kernel completes the handshakes; nobody ever reads or writes
    with rq_queues_at(f"redis://127.0.0.1:{silent.getsockname()[1]}/0"):
        yield
    silent.close()


@pytest.mark.redis
@transactional
def test_an_upload_while_redis_hangs_is_answered_and_its_job_kept(rq_queues, redis_silent):
    outcome: list = []
    upload = threading.Thread(target=lambda: outcome.append(import_clip()))

    upload.start()
    upload.join(timeout=60)  # without a socket timeout it would wait for Redis forever

    assert not upload.is_alive(), "the upload is still waiting for a silent Redis"
    connections.close_all()
    (clip,) = outcome
    assert Clip.objects.get(pk=clip.pk).state == Clip.State.PENDING_ASR
    assert Job.objects.get().state == Job.State.PENDING  # the sweeper enqueues it once Redis answers


# --- retries and dead workers ------------------------------------------------------------------


def failing_job(*args, final_attempt: bool) -> None:
    raise RuntimeError(f"attempt with final_attempt={final_attempt}")


def given_up(*args, error: str) -> None:
    GIVEN_UP.append((args, error))


GIVEN_UP: list = []
failing_job.on_give_up = given_up  # type: ignore[attr-defined]


def quiet_job(*args, final_attempt: bool) -> None:
    RAN.append(args)


RAN: list = []


def job_row(func=quiet_job, *args, queue: str = "default", **fields) -> Job:
    """A job row as some process left it (say "running" with no process holding its lock)."""
    fields.setdefault("next_attempt_at", timezone.now())
    return Job.objects.create(queue=queue, func=jobs.dotted(func), args=list(args), **fields)


@transactional
def test_scheduling_the_same_key_twice_records_one_job(settings):
    settings.REDIS_URL = ""  # in process
    RAN.clear()
    with transaction.atomic():
        first = jobs.schedule("default", quiet_job, 1, key="thing:1")
        second = jobs.schedule("default", quiet_job, 1, key="thing:1")
    assert first.pk == second.pk
    assert RAN == [(1,)]
    with transaction.atomic():  # done: the key is free again
        jobs.schedule("default", quiet_job, 2, key="thing:1")
    assert RAN == [(1,), (2,)]


@transactional
def test_an_unknown_queue_is_refused():
    with pytest.raises(ValueError, match="unknown queue 'fast'"):
        jobs.schedule("fast", quiet_job, key="x")


@pytest.mark.postgres
@transactional
def test_a_job_whose_worker_died_goes_back_to_pending_and_is_run_again(settings):
    settings.REDIS_URL = ""  # the sweeper runs due jobs in process
    RAN.clear()
    job = job_row(
        quiet_job, 7, key="thing:7", state="running", attempts=1, max_attempts=3, worker="host-b:4242"
    )  # "running", but no process holds its lock: its worker was killed

    counts = jobs.sweep()

    assert counts["recovered"] == 1
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Job.State.DONE, 2)
    assert RAN == [(7,)]


@contextmanager
def held_by_another_process(lock):
    """`lock` (a jobs services lock) held on another connection, as another worker process would."""
    held, release = threading.Event(), threading.Event()

    def other():
        try:
            with lock as mine:
                assert mine
                held.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    try:
        assert held.wait(10)
        yield
    finally:
        release.set()
        thread.join()


@pytest.mark.postgres
@transactional
def test_a_job_that_is_really_running_is_left_alone():
    job = job_row(key="thing:8", state="running", attempts=1)

    with held_by_another_process(jobs._exclusive(job.pk)):
        assert jobs.sweep()["recovered"] == 0
        assert jobs.run(job.pk) == "busy"

    job.refresh_from_db()
    assert job.state == Job.State.RUNNING


@pytest.mark.postgres
@transactional
def test_a_job_that_keeps_killing_its_worker_fails_for_good_and_says_so(settings):
    settings.REDIS_URL = ""
    GIVEN_UP.clear()
    job = job_row(
        failing_job, 9, key="thing:9", state="running", attempts=2, max_attempts=2
    )  # its last attempt died with its process

    jobs.sweep()

    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert "stopped while running it" in job.last_error
    assert GIVEN_UP == [((9,), job.last_error)]


@pytest.mark.postgres
@transactional
def test_a_clip_whose_whisper_job_killed_its_worker_every_time_is_shown_failed(settings):
    settings.REDIS_URL = ""
    from annotate.clips.jobs import transcribe_clip_job

    with transaction.atomic():
        clip = import_clip()
        Job.objects.filter(key=asr.job_key(clip.pk)).delete()  # recorded below as a job that died twice
    Clip.objects.filter(pk=clip.pk).update(state=Clip.State.TRANSCRIBING)
    job_row(
        transcribe_clip_job, clip.pk, queue="asr", key=asr.job_key(clip.pk), state="running", attempts=3, max_attempts=3
    )

    jobs.sweep()

    clip.refresh_from_db()
    assert clip.state == Clip.State.ASR_FAILED
    assert "stopped while running it" in clip.asr_error


@transactional
def test_clips_waiting_for_whisper_without_a_job_get_one(settings):
    settings.REDIS_URL = ""
    with transaction.atomic():
        clip = import_clip()
        Job.objects.all().delete()  # say, a clip from before the job table
    Clip.objects.filter(pk=clip.pk).update(state=Clip.State.PENDING_ASR)

    counts = jobs.sweep()

    assert counts["schedule_missing_transcriptions"] == 1
    clip.refresh_from_db()
    assert clip.state == Clip.State.READY, clip.asr_error


@pytest.mark.postgres
@transactional
def test_only_one_sweeper_sweeps_at_a_time():
    with held_by_another_process(jobs._sweep_lock()):  # another worker's sweeper is mid-pass
        assert jobs.sweep()["skipped"] == 1

    assert jobs.sweep()["skipped"] == 0


@transactional
def test_finished_jobs_are_forgotten_after_the_history_period(settings):
    settings.REDIS_URL = ""
    long_ago = timezone.now() - timedelta(days=settings.ANNOTATE_JOB_HISTORY_DAYS + 1)
    for n, (state, finished) in enumerate(
        [("done", long_ago), ("failed", long_ago), ("done", timezone.now()), ("pending", None)]
    ):
        job_row(key=f"old:{n}", state=state, finished_at=finished, next_attempt_at=timezone.now() + timedelta(days=1))

    assert jobs.sweep()["forgotten"] == 2

    assert sorted(Job.objects.values_list("key", flat=True)) == ["old:2", "old:3"]
