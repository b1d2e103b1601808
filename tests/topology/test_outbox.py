"""What follows a submit, as deployed: the reviewer's submit over HTTP stores the annotation only
(issue 14), and a `manage.py worker default` process derives the final transcript, Whisper's score
and the dashboard's figures after it, kicked by the submit's commit; with Redis down the kick is
lost and the worker's sweeper derives it all the same.
"""

from __future__ import annotations

import time

import pytest

from tests.topology.stack import Stack, wait_for

pytestmark = pytest.mark.topology

SWEEP_SECONDS = 10  # the documented default of ANNOTATE_SWEEP_SECONDS

# Runs in `manage.py shell -c` on the stack: a queue of the reviewer's with transcribed clips.
READY = """
import hashlib
from django.contrib.auth.models import User
from annotate.clips.models import Clip, MachineTranscript
from annotate.queues.models import Queue, Task

queue = Queue.objects.create(name="Outbox")
queue.members.add(User.objects.get(username=args["reviewer"]))
for i in range(args["clips"]):
    clip = Clip.objects.create(
        content_sha256=hashlib.sha256(f"outbox {i}".encode()).hexdigest(), duration_ms=1500, peaks=[0.5] * 50,
        locale="en-US", device_type="speaker", state=Clip.State.READY,
    )
    MachineTranscript.objects.create(clip=clip, model_name="tiny.en", language="en", text=f"play song {i}")
    Task.objects.create(queue=queue, clip=clip)
result = queue.pk
"""


def submit_next(client, queue_id: int, text: str) -> int:
    task = client.post("/review/api/claim", json={"queue_id": queue_id}).json()["tasks"][0]
    body = {"idempotency_key": f"outbox-{task['task_id']}", "corrected_text": text, "listened_fraction": 1.0}
    response = client.post(f"/review/api/tasks/{task['task_id']}/submit", json=body)
    assert response.status_code == 201, response.text
    return task["task_id"]


def derived(stack: Stack, task_id: int) -> tuple | None:
    """(the final transcript, Whisper's scores) once the annotation of the task is derived, else None."""
    rows = stack.sql(
        "SELECT f.text, (SELECT count(*) FROM leads_whisperscore w WHERE w.clip_id = a.clip_id)"
        " FROM review_annotation a JOIN leads_finaltranscript f ON f.clip_id = a.clip_id"
        " WHERE a.task_id = %s AND a.derived_at IS NOT NULL",
        [task_id],
    )
    return rows[0] if rows else None


def test_a_worker_derives_what_follows_a_submit_and_the_sweeper_does_when_redis_is_down(stack: Stack):
    users = stack.users({"rita": ["reviewer"]})
    queue_id = stack.django(READY, reviewer="rita", clips=3)
    stack.web()
    stack.worker("default")
    client = stack.client(users["rita"])

    started = time.monotonic()
    first = submit_next(client, queue_id, "play song 0")
    assert wait_for(lambda: derived(stack, first), timeout=30, message="the worker derived nothing") == (
        "play song 0",
        1,
    )
    print(f"\nkicked: derived {time.monotonic() - started:.2f} s after the submit was sent")

    stack.redis.stop()  # the next kick is lost; the submit itself needs no Redis
    try:
        started = time.monotonic()
        second = submit_next(client, queue_id, "play song one")
        assert wait_for(lambda: derived(stack, second), timeout=SWEEP_SECONDS + 30, message="no sweep derived it") == (
            "play song one",
            1,
        )
        print(f"Redis down: derived by the sweeper {time.monotonic() - started:.2f} s after the submit")
    finally:
        stack.redis.start()
