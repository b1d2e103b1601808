"""Backfill (issue 18): a queue created today takes the clips ingested before it that match its
rule, with the preview's count, a cap and its sampling rate, as a job with progress; never a clip
it had already, nor a flagged, purged or failed one."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from annotate.audit.models import AuditEvent
from annotate.clips.models import Clip
from annotate.jobs.models import Job
from annotate.leads import selectors as lead_selectors
from annotate.queues import claims
from annotate.queues import services as queues
from annotate.queues.models import Backfill, Queue, Task
from tests.factories import flag_task, held_clip, make_clip, make_queue

pytestmark = pytest.mark.django_db


def clips_before_the_queue(count: int, **fields) -> list[Clip]:
    return [make_clip(f"play song {n}", **fields) for n in range(count)]


def test_a_new_queue_takes_the_clips_its_preview_counted(reviewer, lead, other_reviewer):
    old = clips_before_the_queue(5, locale="en-GB")
    clips_before_the_queue(2, locale="en-US")  # not its rule
    queue = make_queue(reviewer, other_reviewer, name="British music", locales=["en-GB"], overlap=2)
    assert not Task.objects.filter(queue=queue).exists()  # a new queue sees no earlier clip by itself
    assert lead_selectors.backfill_preview(queue) == {"days": 7, "matching": 5, "sampled": 5}

    with TestCase.captureOnCommitCallbacks(execute=False):
        backfill = queues.request_backfill(queue=queue, lead=lead, days=7, cap=100)
    assert backfill.matching == 5 and backfill.state == Backfill.State.QUEUED
    job = Job.objects.get(key=f"backfill:{backfill.pk}")
    assert job.queue == "default"  # run by the `default` worker
    queues.run_backfill(backfill.pk)
    backfill.refresh_from_db()
    assert (backfill.state, backfill.considered, backfill.added) == ("done", 5, 5)
    assert set(Task.objects.filter(queue=queue).values_list("clip_id", flat=True)) == {c.pk for c in old}
    assert Task.objects.filter(queue=queue).count() == 10  # two reviewers per clip
    assert claims.claim_next(user=reviewer, queue=queue) is not None


def test_the_cap_and_the_sampling_rate_apply(reviewer, lead):
    clips_before_the_queue(40)
    queue = make_queue(reviewer, sample_rate=0.5)
    backfill = queues.request_backfill(queue=queue, lead=lead, days=7, cap=1000)
    queues.run_backfill(backfill.pk, rng=random.Random(7))
    backfill.refresh_from_db()
    assert backfill.considered == 40 and 10 <= backfill.added <= 30  # about half
    capped_queue = make_queue(reviewer)
    capped = queues.request_backfill(queue=capped_queue, lead=lead, days=7, cap=3)
    queues.run_backfill(capped.pk)
    capped.refresh_from_db()
    assert capped.added == 3 and Task.objects.filter(queue=capped_queue).count() == 3


def test_a_clip_is_never_taken_twice_nor_a_flagged_purged_or_old_one(reviewer, lead, queue):
    flagged_task = held_clip(reviewer, queue)  # in `queue` already, then flagged
    flag_task(reviewer, flagged_task)
    purged = make_clip("gone")
    Clip.objects.filter(pk=purged.pk).update(state=Clip.State.PURGED, audio_name="")
    old = make_clip("from last month")
    Clip.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    fresh = make_clip("set a timer")
    target = make_queue(reviewer, name="new")
    first = queues.request_backfill(queue=target, lead=lead, days=7, cap=100)
    queues.run_backfill(first.pk)
    assert set(Task.objects.filter(queue=target).values_list("clip_id", flat=True)) == {fresh.pk}
    # Again, later: nothing new is added, and the earlier one is not taken twice.
    second = queues.request_backfill(queue=target, lead=lead, days=7, cap=100)
    assert second.matching == 0
    queues.run_backfill(second.pk)
    assert Task.objects.filter(queue=target, clip=fresh).count() == 1
    # The original queue already had them all: its backfill finds nothing.
    assert queues.backfill_candidates(queue=queue, days=7).filter(pk=flagged_task.clip_id).count() == 0


def test_bad_requests_are_refused_with_a_message(reviewer, lead):
    queue = make_queue(reviewer)
    for days, cap, message in ((0, 10, "days must be between 1 and 90"), (7, 0, "the cap must be between 1 and")):
        with pytest.raises(queues.BackfillError, match=message):
            queues.request_backfill(queue=queue, lead=lead, days=days, cap=cap)
    Queue.objects.filter(pk=queue.pk).update(archived=True)
    queue.refresh_from_db()
    with pytest.raises(queues.BackfillError, match="archived"):
        queues.request_backfill(queue=queue, lead=lead, days=7, cap=10)


def test_one_backfill_at_a_time_per_queue(reviewer, lead):
    clips_before_the_queue(3)
    queue = make_queue(reviewer)
    first = queues.request_backfill(queue=queue, lead=lead, days=7, cap=10)
    assert queues.request_backfill(queue=queue, lead=lead, days=3, cap=2).pk == first.pk


def test_the_lead_starts_one_on_the_queue_page_and_watches_it(client, reviewer, lead, settings):
    settings.REDIS_URL = ""  # the job runs in process once the request's transaction commits
    clips_before_the_queue(4)
    queue = make_queue(reviewer, name="Everything")
    client.force_login(lead)
    page = client.get(f"/lead/queues/{queue.pk}/").content.decode()
    assert "<strong>4</strong> clips of the last 7 days match" in page
    assert "<title>Everything · annotate</title>" in page
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(f"/lead/queues/{queue.pk}/backfill", {"days": "7", "cap": "3"})
    assert response.status_code == 302 and response["Location"].endswith("#backfill")
    backfill = Backfill.objects.get(queue=queue)
    status = client.get(f"/lead/queues/{queue.pk}/backfill/{backfill.pk}/status").json()
    assert status["state"] == "done" and status["added"] == 3 and status["matching"] == 4 and status["progress"] == 1.0
    assert AuditEvent.objects.filter(action="queue.backfill", target=f"queue:{queue.pk}").exists()
    page = client.get(f"/lead/queues/{queue.pk}/").content.decode()
    assert 'data-state="done"' in page
    bad = client.post(f"/lead/queues/{queue.pk}/backfill", {"days": "x", "cap": "3"}, follow=True)
    assert "whole numbers" in bad.content.decode()
