"""Two reviewers on one clip at once, retried submits, and what a reviewer is told when a clip is gone.

The races run on PostgreSQL: each reviewer is a thread with its own database
connection and its own Django test Client, as the web workers are, and each
pair meets at a barrier so that the two requests really overlap. The
messages (withdrawn for escalation, already saved, lease ran out) need no race.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import TypeVar

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from annotate.clips.models import Clip
from annotate.escalation.models import Case, Flag
from annotate.quality import services as quality
from annotate.quality.models import ClipAgreement
from annotate.queues import claims
from annotate.queues.models import Skip, Task
from annotate.review.models import Annotation
from tests.factories import make_clip, make_queue
from tests.support import open_review_page, post_json

PAIRS = 20
PAIRS_AT_ONCE = 10  # 20 database connections at a time: the PostgreSQL server is shared

T = TypeVar("T")


def client_for(user: User) -> Client:
    """A signed-in browser that gets the 500 page, as a reviewer would, instead of the exception."""
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def held_overlap_pairs(count: int, first: User, second: User) -> list[tuple[Task, Task]]:
    """`count` clips of an overlap queue (k=2), each held by both reviewers: (first's task, second's task)."""
    queue = make_queue(first, second, overlap=2)
    for i in range(count):
        make_clip(f"turn on the kitchen light number {i}", with_audio=False)
    pairs = []
    for _ in range(count):
        mine = claims.claim_next(user=first, queue=queue)
        theirs = claims.claim_next(user=second, queue=queue)
        assert mine.clip_id == theirs.clip_id and mine.pk != theirs.pk
        pairs.append((mine, theirs))
    return pairs


def race_pairs(pairs: list[T], first: Callable[[T], object], second: Callable[[T], object]) -> list[tuple]:
    """Run first(pair) and second(pair) at the same moment for every pair, each in its own thread and connection."""

    def run(barrier: threading.Barrier, work: Callable[[T], object], pair: T):
        try:
            barrier.wait()
            return work(pair)
        finally:
            connection.close()  # the thread's own connection, or the test database cannot be dropped

    with ThreadPoolExecutor(max_workers=2 * PAIRS_AT_ONCE) as pool:
        futures = []
        for pair in pairs:
            barrier = threading.Barrier(2, timeout=60)
            futures.append((pool.submit(run, barrier, first, pair), pool.submit(run, barrier, second, pair)))
        return [(a.result(timeout=120), b.result(timeout=120)) for a, b in futures]


def submit_body(key: str, text: str = "turn on the kitchen light") -> dict:
    return {"idempotency_key": key, "corrected_text": text}


# --- flag and submit of the same clip at once ------------------------------------------------------


@pytest.mark.usefixtures("rq_queues")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_flag_and_submit_of_a_clip_never_deadlock(reviewer, other_reviewer):
    pairs = held_overlap_pairs(PAIRS, reviewer, other_reviewer)

    def submit(pair):
        mine, _ = pair
        response = post_json(client_for(reviewer), f"/review/api/tasks/{mine.pk}/submit", submit_body(f"k{mine.pk}"))
        return response.status_code, response.json() if response.status_code < 500 else {}

    def flag(pair):
        _, theirs = pair
        response = post_json(
            client_for(other_reviewer), "/cases/api/flags", {"task_id": theirs.pk, "category": "distressing"}
        )
        return response.status_code, response.json() if response.status_code < 500 else {}

    results = race_pairs(pairs, submit, flag)

    statuses = [(submitted[0], flagged[0]) for submitted, flagged in results]
    assert [s for s in statuses if s[0] >= 500 or s[1] >= 500] == []
    for (mine, theirs), ((submit_status, submit_data), (flag_status, _)) in zip(pairs, results, strict=True):
        assert flag_status == 201
        assert Flag.objects.filter(task=theirs, reviewer=other_reviewer, case__clip_id=mine.clip_id).exists()
        task = Task.objects.get(pk=mine.pk)
        if submit_status == 201:  # saved before the flag withdrew the clip
            assert task.state == Task.State.DONE
            assert Annotation.objects.filter(task=mine, reviewer=reviewer).count() == 1
        else:  # the flag came first: the reviewer is told the clip went to escalation, and nothing is stored
            assert submit_status == 409, submit_data
            assert submit_data["reason"] == "escalated"
            assert "escalation" in submit_data["error"]
            assert task.state == Task.State.WITHDRAWN
            assert not Annotation.objects.filter(task=mine).exists()
    assert Case.objects.count() == PAIRS


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_both_reviewers_of_an_overlap_clip_submitting_at_once_are_both_saved_and_agreement_measured_once(
    reviewer, other_reviewer, settings
):
    pairs = held_overlap_pairs(PAIRS, reviewer, other_reviewer)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # no Redis answers: the submits' kicks are lost, workers derive

    def submit_as(user: User, index: int):
        def submit(pair):
            task = pair[index]
            response = post_json(client_for(user), f"/review/api/tasks/{task.pk}/submit", submit_body(f"k{task.pk}"))
            return response.status_code

        return submit

    results = race_pairs(pairs, submit_as(reviewer, 0), submit_as(other_reviewer, 1))

    assert results == [(201, 201)] * PAIRS
    assert Annotation.objects.count() == 2 * PAIRS

    def derive(index: int):  # two workers derive the clip's two annotations at once (the annotation outbox)
        return lambda pair: quality.derive(annotation_id=pair[index].annotation.pk, clip_id=pair[index].clip_id)

    assert race_pairs(pairs, derive(0), derive(1)) == [(True, True)] * PAIRS
    assert ClipAgreement.objects.count() == PAIRS
    assert sorted(ClipAgreement.objects.values_list("clip_id", flat=True)) == sorted(m.clip_id for m, _ in pairs)


# --- a retried submit of saved work --------------------------------------------------------------------


def waiting_on_locks() -> int:
    """How many other connections to the test database wait on a lock right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@contextmanager
def clip_locked_elsewhere(clip: Clip) -> Iterator[None]:
    """Another connection holds the clip's row lock until the block ends (as a slow transaction would)."""
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                list(Clip.objects.select_for_update().filter(pk=clip.pk))
                locked.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        yield
    finally:
        release.set()
        holder.join(timeout=60)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_retry_that_raced_its_saved_first_attempt_is_told_already_saved(reviewer):
    queue = make_queue(reviewer)
    make_clip("turn on the kitchen light", with_audio=False)
    task = claims.claim_next(user=reviewer, queue=queue)
    body = submit_body("the-same-key")

    def send(_):
        try:
            response = post_json(client_for(reviewer), f"/review/api/tasks/{task.pk}/submit", body)
            return response.status_code, response.json() if response.status_code < 500 else {}
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool, clip_locked_elsewhere(task.clip):
        first = pool.submit(send, None)
        retry = pool.submit(send, None)
        # Both attempts are in and waiting on the clip (no answer yet), then the slow transaction ends.
        deadline = time.monotonic() + 30
        while waiting_on_locks() < 2:
            assert time.monotonic() < deadline, "the two submits never both waited on the clip"
            time.sleep(0.05)
    answers = sorted([first.result(timeout=60), retry.result(timeout=60)], key=lambda answer: answer[0])

    (retry_status, retry_data), (first_status, first_data) = answers
    assert (retry_status, first_status) == (200, 201), answers
    assert retry_data["message"] == "already saved"
    assert retry_data["annotation_id"] == first_data["annotation_id"]
    assert Annotation.objects.count() == 1


@pytest.mark.django_db
def test_a_retried_submit_after_the_first_was_saved_answers_200_already_saved(client, reviewer):
    queue = make_queue(reviewer)
    make_clip("turn on the kitchen light", with_audio=False)
    task = claims.claim_next(user=reviewer, queue=queue)
    client.force_login(reviewer)
    first = post_json(client, f"/review/api/tasks/{task.pk}/submit", submit_body("k1"))
    again = post_json(client, f"/review/api/tasks/{task.pk}/submit", submit_body("k1"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["message"] == "saved"
    assert again.json()["message"] == "already saved"
    assert again.json()["annotation_id"] == first.json()["annotation_id"]
    assert Annotation.objects.count() == 1


@pytest.mark.django_db
def test_the_same_clip_submitted_again_with_new_work_is_told_it_was_already_submitted(client, reviewer):
    queue = make_queue(reviewer)
    make_clip("turn on the kitchen light", with_audio=False)
    task = claims.claim_next(user=reviewer, queue=queue)
    client.force_login(reviewer)
    assert post_json(client, f"/review/api/tasks/{task.pk}/submit", submit_body("k1")).status_code == 201
    second_tab = post_json(client, f"/review/api/tasks/{task.pk}/submit", submit_body("k2", "something else"))
    assert second_tab.status_code == 409
    assert second_tab.json()["reason"] == "submitted"
    assert "already submitted" in second_tab.json()["error"]
    assert Annotation.objects.get().corrected_text == "turn on the kitchen light"


# --- a clip withdrawn under the reviewer says why ------------------------------------------------------


@pytest.fixture
def flagged_under_reviewer(reviewer, other_reviewer) -> Task:
    """The reviewer holds a clip of an overlap queue that the other reviewer has just flagged."""
    mine, theirs = held_overlap_pairs(1, reviewer, other_reviewer)[0]
    flagger = Client()
    flagger.force_login(other_reviewer)
    assert post_json(flagger, "/cases/api/flags", {"task_id": theirs.pk, "category": "distressing"}).status_code == 201
    return mine


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "body"),
    [("submit", submit_body("k1")), ("renew", {}), ("skip", {"reason": "unsure"})],
)
def test_a_clip_withdrawn_for_escalation_says_so_on_submit_renew_and_skip(
    client, reviewer, flagged_under_reviewer, action, body
):
    client.force_login(reviewer)
    response = post_json(client, f"/review/api/tasks/{flagged_under_reviewer.pk}/{action}", body)
    assert response.status_code == 409
    data = response.json()
    assert data["reason"] == "escalated"
    assert "withdrawn for escalation" in data["error"]
    assert "nothing more is needed" in data["error"].lower()
    assert "lease" not in data["error"]
    assert not Annotation.objects.exists() and not Skip.objects.exists()
    assert Task.objects.get(pk=flagged_under_reviewer.pk).state == Task.State.WITHDRAWN


@pytest.mark.django_db
def test_a_clip_another_reviewer_marked_accidental_says_so(client, reviewer, other_reviewer):
    mine, theirs = held_overlap_pairs(1, reviewer, other_reviewer)[0]
    client.force_login(other_reviewer)
    accidental = post_json(
        client, f"/review/api/tasks/{theirs.pk}/submit", {"idempotency_key": "a", "accidental": True}
    )
    assert accidental.status_code == 201
    client.force_login(reviewer)
    response = post_json(client, f"/review/api/tasks/{mine.pk}/submit", submit_body("k1"))
    assert response.status_code == 409
    assert response.json()["reason"] == "withdrawn"
    assert "accidental" in response.json()["error"]
    assert "nothing more is needed" in response.json()["error"].lower()


@pytest.mark.django_db
def test_a_lapsed_lease_taken_by_someone_else_still_says_the_lease_ran_out(client, reviewer, other_reviewer):
    queue = make_queue(reviewer, other_reviewer)
    make_clip("turn on the kitchen light", with_audio=False)
    task = claims.claim_next(user=reviewer, queue=queue)
    Task.objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert claims.claim_next(user=other_reviewer, queue=queue).pk == task.pk
    client.force_login(reviewer)
    for action, body in [("submit", submit_body("k1")), ("renew", {})]:
        response = post_json(client, f"/review/api/tasks/{task.pk}/{action}", body)
        assert response.status_code == 409
        assert response.json()["reason"] == "lapsed"
        assert "lease ran out" in response.json()["error"]


@pytest.mark.django_db
def test_a_retried_skip_of_a_skipped_clip_answers_ok_once(client, reviewer):
    queue = make_queue(reviewer)
    make_clip("turn on the kitchen light", with_audio=False)
    task = claims.claim_next(user=reviewer, queue=queue)
    client.force_login(reviewer)
    first = post_json(client, f"/review/api/tasks/{task.pk}/skip", {"reason": "unsure"})
    again = post_json(client, f"/review/api/tasks/{task.pk}/skip", {"reason": "unsure"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert Skip.objects.count() == 1
    assert Task.objects.get(pk=task.pk).state == Task.State.OPEN


# --- what the reviewer sees on the page ---------------------------------------------------------------


@contextmanager
def review_page(browser, live_server, user: User, queue_id: int):
    """Headless Chromium signed in as the user, on the queue's review page with a clip shown."""
    page = browser.new_page()
    open_review_page(page, live_server.url, user, queue_id)
    yield page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_page_says_a_clip_flagged_by_someone_else_went_to_escalation_and_does_not_retry(
    live_server, reviewer, other_reviewer, browser
):
    from annotate.escalation.services import FlagInput, flag_clip

    queue = make_queue(reviewer, other_reviewer, overlap=2)
    for i in range(2):
        make_clip(f"turn on the kitchen light {i}")
    with review_page(browser, live_server, reviewer, queue.pk) as page:
        submits: list[str] = []
        page.on("request", lambda request: submits.append(request.url) if "/submit" in request.url else None)
        task_id = int(page.get_attribute("#review", "data-task-id"))

        def other_reviewer_flags_the_clip():
            try:
                theirs = claims.claim_next(user=other_reviewer, queue=queue)
                assert theirs.clip_id == Task.objects.get(pk=task_id).clip_id
                flag_clip(user=other_reviewer, flag=FlagInput(task_id=theirs.pk, category="distressing"))
            finally:
                connection.close()

        # Playwright's loop runs in this thread, where Django refuses database calls.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(other_reviewer_flags_the_clip).result(timeout=60)

        page.fill("#transcript", "turn on the kitchen light")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#notice:not([hidden])")
        notice = page.inner_text("#notice")
        assert "withdrawn for escalation" in notice and "Nothing more is needed" in notice
        assert "lease" not in notice.lower()
        assert page.inner_text("#save-status") == "Nothing to save: the clip was withdrawn."
        page.wait_for_timeout(1500)  # longer than the first retry's back-off: no second attempt is sent
        assert len(submits) == 1

        # The outbox moved on to the next clip at the first Ctrl+Enter; nothing of the flagged clip was stored.
        assert page.get_attribute("#review", "data-task-id") != str(task_id)
    assert not Annotation.objects.exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_page_says_already_saved_when_the_answer_to_a_saved_submit_was_lost(live_server, reviewer, browser):
    queue = make_queue(reviewer)
    for i in range(2):
        make_clip(f"turn on the kitchen light {i}")
    with review_page(browser, live_server, reviewer, queue.pk) as page:
        attempts = []

        def lose_the_first_answer(route):
            attempts.append(route.request.url)
            if len(attempts) == 1:
                route.fetch()  # the server stores the annotation…
                route.abort("connectionreset")  # …and the answer never reaches the page
            else:
                route.continue_()

        page.route("**/submit", lose_the_first_answer)
        task_id = page.get_attribute("#review", "data-task-id")
        page.fill("#transcript", "turn on the kitchen light")
        page.keyboard.press("Control+Enter")
        # The next clip is on screen at once; the outbox sends the submit again (same key) behind it.
        page.wait_for_function(f"() => document.querySelector('#review').dataset.taskId !== '{task_id}'")
        page.wait_for_function("() => document.querySelector('#save-status').textContent.startsWith('Already saved')")
        assert len(attempts) == 2
    assert list(Annotation.objects.values_list("task_id", "corrected_text")) == [
        (int(task_id), "turn on the kitchen light")
    ]
