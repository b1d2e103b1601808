"""Claiming under load on PostgreSQL: many reviewers at once, every clip handed to one of them.

Each reviewer runs in its own thread with its own database connection, as the
web workers do, so the claims really race on `SELECT … FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import timezone

from annotate.accounts import roles
from annotate.clips.models import Clip
from annotate.queues import claims
from annotate.queues.models import Queue, Task
from tests.support import make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Each claim costs about 10 ms of Python (building the ORM queries), and the GIL runs one
# thread's Python at a time: 1,000 clips keep the test near 15 s (2,000 took a minute on 2 busy cores).
CLIPS = 1_000
REVIEWERS = 16

T = TypeVar("T")


def make_reviewers(count: int) -> list[User]:
    # A transactional test empties the tables after itself, the migrations' groups included.
    Group.objects.get_or_create(name=roles.REVIEWER)
    return [make_user(f"reviewer{i:02d}", roles.REVIEWER) for i in range(count)]


def make_queue_with_tasks(count: int, *members: User) -> Queue:
    """A queue of `count` open tasks on transcribed clips (no audio: claiming never reads it)."""
    queue = Queue.objects.create(name="load")
    queue.members.add(*members)
    clips = Clip.objects.bulk_create(
        [
            Clip(
                public_id=f"c_{i:016x}",
                content_sha256=hashlib.sha256(f"clip {i}".encode()).hexdigest(),
                duration_ms=1000,
                state=Clip.State.READY,
            )
            for i in range(count)
        ],
        batch_size=1000,
    )
    Task.objects.bulk_create([Task(queue=queue, clip=clip) for clip in clips], batch_size=1000)
    # Planner statistics, as autovacuum would gather them: without any, PostgreSQL joins
    # every candidate task to every ready clip and each claim scans the whole queue.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE queues_task, clips_clip")
    return queue


def in_threads(work: Callable[[User], T], users: list[User]) -> list[T]:
    """Run `work(user)` for every user at once, one thread (and connection) each; re-raise any error."""
    start = threading.Barrier(len(users), timeout=30)

    def run(user: User) -> T:
        try:
            start.wait()
            return work(user)
        finally:
            connection.close()  # the thread's own connection, or the test database cannot be dropped

    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        futures = [pool.submit(run, user) for user in users]
        return [future.result(timeout=120) for future in futures]


def test_concurrent_reviewers_each_get_distinct_clips_until_the_queue_is_empty():
    reviewers = make_reviewers(REVIEWERS)
    queue = make_queue_with_tasks(CLIPS, *reviewers)

    def review_until_empty(user: User) -> list[tuple[int, int]]:
        claimed = []
        while (task := claims.claim_next(user=user, queue=queue)) is not None:
            claimed.append((task.pk, user.pk))
            # Done, as submit leaves it (submit itself has its own tests): only the holder can.
            finished = Task.objects.filter(pk=task.pk, claimed_by=user, state=Task.State.CLAIMED).update(
                state=Task.State.DONE, done_at=timezone.now(), lease_expires_at=None
            )
            assert finished == 1, f"task {task.pk} was taken from {user} before it was done"
        return claimed

    claimed = [pair for pairs in in_threads(review_until_empty, reviewers) for pair in pairs]

    claims_per_task = Counter(task_id for task_id, _ in claimed)
    assert [task_id for task_id, n in claims_per_task.items() if n > 1] == []
    assert len(claimed) == CLIPS
    tasks = Task.objects.filter(queue=queue)
    assert set(claims_per_task) == set(tasks.values_list("pk", flat=True))
    assert tasks.filter(state=Task.State.DONE).count() == CLIPS
    assert dict(tasks.values_list("pk", "claimed_by_id")) == dict(claimed)
    # The claims really did interleave: the work was shared out.
    assert len({user_id for _, user_id in claimed}) > 1


def test_an_expired_lease_goes_to_exactly_one_other_reviewer_and_a_live_one_to_nobody():
    holder, *others = make_reviewers(9)
    queue = make_queue_with_tasks(2, holder, *others)
    lapsed = claims.claim_next(user=holder, queue=queue)
    live = claims.claim_next(user=holder, queue=queue)
    Task.objects.filter(pk=lapsed.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    got = in_threads(lambda user: claims.claim_next(user=user, queue=queue), others)

    winners = [(task.pk, task.claimed_by_id) for task in got if task is not None]
    assert len(winners) == 1
    assert winners[0][0] == lapsed.pk and winners[0][1] != holder.pk
    lapsed.refresh_from_db()
    live.refresh_from_db()
    assert lapsed.claimed_by_id == winners[0][1] and lapsed.lease_expires_at > timezone.now()
    assert live.claimed_by_id == holder.pk and live.state == Task.State.CLAIMED
