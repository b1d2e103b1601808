"""Background work as deployed: uploads over HTTP to the web server (uvicorn), transcribed by real
`manage.py worker asr` processes, through a killed worker and a Redis outage.

Figures (how long recovery took) are printed, never asserted; the bounds in the
waits are generous ceilings for a loaded 2-core machine.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from tests.topology.stack import demo_clips, upload, wait_for

pytestmark = pytest.mark.topology

MODEL_LOADED = "loaded Whisper model"
SWEEP_SECONDS = 10  # the documented default of ANNOTATE_SWEEP_SECONDS: a lost job is found within this


def long_clip(seconds: float = 25) -> tuple[str, bytes, dict]:
    """Demo clips joined into one ~`seconds` WAV, so that Whisper runs long enough to be killed."""
    from pydub import AudioSegment

    from annotate.clips import audio

    joined = AudioSegment.silent(duration=100, frame_rate=16000)
    for _name, data, _ in demo_clips(40):
        joined += audio.decode(data).segment  # mono 16 kHz, decoded by PyAV (no ffmpeg needed)
        if joined.duration_seconds >= seconds:
            break
    _, _, meta = demo_clips(1)[0]
    return "long.wav", audio.to_wav_bytes(joined), meta


def clip_states(stack) -> dict[str, str]:
    return dict(stack.sql("SELECT public_id, state FROM clips_clip"))


def wait_all_transcribed(stack, count: int, *, timeout: float) -> float:
    started = time.monotonic()
    wait_for(
        lambda: sum(state == "ready" for state in clip_states(stack).values()) == count,
        timeout=timeout,
        message=f"not all {count} clips transcribed: {clip_states(stack)}",
        interval=0.5,
    )
    return time.monotonic() - started


def wait_all_jobs_done(stack, *, timeout: float, message: str) -> None:
    """The jobs of clips packed along run after their clips are done (and find nothing to do)."""
    wait_for(
        lambda: stack.sql("SELECT count(*) FROM jobs_job WHERE state <> 'done'") == [(0,)],
        timeout=timeout,
        message=message,
    )


def test_uploads_are_transcribed_by_two_workers_that_load_the_model_once_each(stack):
    pipe = stack.users({"pipe": ["ingest"]})["pipe"]
    stack.web()
    workers = [stack.worker("asr"), stack.worker("asr")]
    for worker in workers:
        worker.wait_for_log(MODEL_LOADED, timeout=120)
    client = stack.client()

    for clip in demo_clips(6):
        response = upload(client, pipe.token, clip)
        assert response.status_code == 201, response.text
    took = wait_all_transcribed(stack, 6, timeout=240)
    print(f"6 uploads transcribed by 2 asr workers in {took:.1f} s")

    rows = stack.sql(
        "SELECT t.model_name, t.text, jsonb_array_length(t.words::jsonb) FROM clips_machinetranscript t"
    )  # fmt: skip
    assert len(rows) == 6
    assert all(model == "tiny.en" and text.strip() and words > 0 for model, text, words in rows)
    assert set(stack.sql("SELECT state, attempts FROM jobs_job")) == {("done", 1)}
    for worker in workers:  # once per process, not once per clip
        assert worker.log_text().count(MODEL_LOADED) == 1, worker.log_tail()


def test_a_worker_killed_mid_whisper_leaves_no_clip_stuck(stack):
    pipe = stack.users({"pipe": ["ingest"]})["pipe"]
    stack.web()
    first = stack.worker("asr")
    first.wait_for_log(MODEL_LOADED, timeout=120)

    response = upload(stack.client(), pipe.token, long_clip())
    assert response.status_code == 201, response.text
    wait_for(
        lambda: stack.sql("SELECT j.state, c.state FROM jobs_job j, clips_clip c") == [("running", "transcribing")],
        timeout=60,
        message="Whisper never started on the clip",
        interval=0.05,
    )
    first.kill9()  # mid-Whisper (25 s of audio), as the OOM killer or a crashed host would

    killed_at = time.monotonic()
    second = stack.worker("asr")  # no manual step: just a worker, as a supervisor restarts it
    took = wait_all_transcribed(stack, 1, timeout=SWEEP_SECONDS + 120)
    print(f"clip transcribed {took + 0:.1f} s after its worker was killed (sweeper every {SWEEP_SECONDS} s)")
    assert time.monotonic() - killed_at < SWEEP_SECONDS + 120

    assert stack.sql("SELECT state, attempts FROM jobs_job") == [("done", 2)]
    assert stack.sql("SELECT count(*) FROM clips_machinetranscript")[0][0] == 1
    assert "stopped while running it" in second.log_text()


def test_a_worker_killed_mid_packed_window_loses_none_of_its_clips(stack):
    pipe = stack.users({"pipe": ["ingest"]})["pipe"]
    stack.web()
    client = stack.client()
    for clip in demo_clips(6):  # a backlog: the first job takes all six into one window
        assert upload(client, pipe.token, clip).status_code == 201
    first = stack.worker("asr")
    wait_for(
        lambda: stack.sql("SELECT count(*) FROM clips_clip WHERE state = 'transcribing'") == [(6,)],
        timeout=120,
        message="the first job never took the six clips",
        interval=0.05,
    )
    (holder,) = {h for (h,) in stack.sql("SELECT asr_holder FROM clips_clip")}
    first.kill9()  # mid-window

    second = stack.worker("asr")
    took = wait_all_transcribed(stack, 6, timeout=SWEEP_SECONDS + 180)
    print(f"six clips of a killed packed window transcribed {took:.1f} s after the kill")
    assert stack.sql("SELECT count(*) FROM clips_machinetranscript")[0][0] == 6
    assert stack.sql("SELECT count(*) FROM clips_clip WHERE asr_holder IS NOT NULL") == [(0,)]
    lead_job = stack.sql("SELECT state, attempts FROM jobs_job WHERE key = %s", [f"asr:clip:{holder}"])
    assert lead_job == [("done", 2)]  # run again by the sweeper, never by hand
    assert stack.sql("SELECT count(*) FROM jobs_job WHERE state <> 'done'") == [(0,)]
    assert "clips packed with it go back to their own jobs" in second.log_text()


def test_sigterm_stops_an_idle_worker_at_once_and_a_busy_one_after_its_clip(stack):
    pipe = stack.users({"pipe": ["ingest"]})["pipe"]
    stack.web()
    idle, busy = stack.worker("default"), stack.worker("asr")
    idle.wait_for_log("Listening on", timeout=60)
    started = time.monotonic()
    assert idle.terminate(timeout=20) == 0, idle.log_tail()  # systemd's stop, or a deploy
    print(f"an idle worker stopped {time.monotonic() - started:.1f} s after SIGTERM")
    assert time.monotonic() - started < 10
    assert "worker stopped" in idle.log_text() and "starting it again" not in idle.log_text()

    busy.wait_for_log(MODEL_LOADED, timeout=120)
    assert upload(stack.client(), pipe.token, long_clip()).status_code == 201
    wait_for(
        lambda: stack.sql("SELECT state FROM clips_clip") == [("transcribing",)],
        timeout=60,
        message="Whisper never started on the clip",
        interval=0.05,
    )
    assert busy.terminate(timeout=120) == 0, busy.log_tail()  # the clip first, then the exit
    assert stack.sql("SELECT state FROM clips_clip") == [("ready",)]
    assert stack.sql("SELECT state, attempts FROM jobs_job") == [("done", 1)]


def test_a_redis_outage_during_uploads_reviews_and_a_flag_loses_nothing(stack):
    users = stack.users({"pipe": ["ingest"], "rita": ["reviewer"], "olga": ["officer"]})
    queue_id = stack.django(
        "from django.contrib.auth.models import User\n"
        "from annotate.queues.models import Queue\n"
        "queue = Queue.objects.create(name='everything', sample_rate=1.0)\n"
        "queue.members.add(User.objects.get(username='rita'))\n"
        "result = queue.pk\n"
    )
    stack.web()
    asr_worker, default_worker = stack.worker("asr"), stack.worker("default")
    pipe = stack.client()
    for clip in demo_clips(4):  # work for the reviewer before the outage
        assert upload(pipe, users["pipe"].token, clip).status_code == 201
    wait_all_transcribed(stack, 4, timeout=240)
    wait_all_jobs_done(stack, timeout=60, message="the jobs of the first clips did not finish")
    rita = stack.client(users["rita"])
    os.kill(asr_worker.pid, signal.SIGSTOP)  # a busy worker: the next two jobs wait in Redis…
    queued = [upload(pipe, users["pipe"].token, clip) for clip in demo_clips(2, skip=12)]
    assert [r.status_code for r in queued] == [201, 201]
    waiting = [f"rq:job:annotate-job-{pk}" for (pk,) in stack.sql("SELECT id FROM jobs_job WHERE state = 'pending'")]
    assert len(waiting) == 2
    wait_for(lambda: stack.redis.client().exists(*waiting) == 2, timeout=10, message="jobs not handed to RQ")

    stack.redis.stop()  # …and are lost with everything else Redis held (no persistence)
    os.kill(asr_worker.pid, signal.SIGCONT)
    outage_started = time.monotonic()
    uploads = []
    for clip in demo_clips(8, skip=4):
        uploads.append(upload(pipe, users["pipe"].token, clip))
    claimed = rita.post("/review/api/claim", json={"queue_id": queue_id})
    assert claimed.status_code == 200, claimed.text
    tasks = claimed.json()["tasks"]
    assert len(tasks) == 2  # the clip under review and the prefetched one
    submits = [
        rita.post(
            f"/review/api/tasks/{tasks[0]['task_id']}/submit",
            json={"idempotency_key": str(uuid.uuid4()), "corrected_text": "play something", "answer_grade": "right"},
        )
    ]
    flag = rita.post("/cases/api/flags", json={"task_id": tasks[1]["task_id"], "category": "danger_now"})
    next_claim = rita.post("/review/api/claim", json={"queue_id": queue_id})
    for task in next_claim.json()["tasks"]:
        submits.append(
            rita.post(
                f"/review/api/tasks/{task['task_id']}/submit",
                json={"idempotency_key": str(uuid.uuid4()), "corrected_text": "set a timer", "answer_grade": "right"},
            )
        )
    time.sleep(max(0.0, 30 - (time.monotonic() - outage_started)))  # a 30 s outage
    assert asr_worker.alive and default_worker.alive  # waiting for Redis, not gone
    stack.redis.start()

    assert [r.status_code for r in uploads] == [201] * 8, [r.text for r in uploads if r.status_code != 201]
    assert [r.status_code for r in submits] == [201] * len(submits), [r.text for r in submits]
    assert len(submits) == 3
    assert flag.status_code == 201, flag.text
    ((case_id,),) = stack.sql("SELECT id FROM escalation_case")

    took = wait_all_transcribed(stack, 14, timeout=SWEEP_SECONDS + 240)
    print(f"the 10 clips queued before or uploaded during the outage were transcribed {took:.1f} s after it")
    private = Path(stack.env["ANNOTATE_PRIVATE_ROOT"])
    stored = stack.sql("SELECT public_id, audio_name FROM clips_clip")
    assert len(stored) == 14  # every 201 is a clip; nothing else was stored
    for body in (r.json() for r in uploads + queued):
        audio_name = dict(stored)[body["clip"]["public_id"]]
        assert audio_name and (private / audio_name).is_file()  # every 201 kept its audio
    versions = [name for (name,) in stack.sql("SELECT audio_name FROM clips_audiovariant")]  # disguised, …
    expected = [Path(name).name for name in [*(name for _, name in stored), *versions]]
    assert sorted(p.name for p in private.rglob("*.bin")) == sorted(expected)

    mail = default_worker.wait_for_log(f"case {case_id}", timeout=SWEEP_SECONDS + 60)
    assert f"New critical case {case_id}" in mail  # the officer e-mail, sent once Redis was back
    assert stack.sql("SELECT count(*) FROM review_annotation")[0][0] == 3
    # every job ends done: one Redis lost is enqueued again by the sweeper
    wait_all_jobs_done(stack, timeout=SWEEP_SECONDS + 60, message="jobs left undone after the outage")
    assert asr_worker.alive and default_worker.alive
