"""Who reaches what on the review side, the audio door, the audit log, and query counts."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core import signing
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotate.audit.models import AuditEvent
from annotate.clips import ingest
from annotate.clips.models import Clip, MachineTranscript
from annotate.queues import claims
from annotate.queues.models import Task
from annotate.review import selectors
from tests.factories import make_clip, make_queue
from tests.support import AUDIO, as_user, built_once, make_persona, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(queue, reviewer):
    make_clip("set a timer for ten minutes")
    return claims.claim_next(user=reviewer, queue=queue)


# --- pages and API by role --------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("reviewer", 200), ("other_reviewer", 404), ("lead", 403), ("officer", 403), ("anonymous", 302)],
)
def test_review_page_by_role(client, personas, who, status, reviewer, other_reviewer):
    queue = make_queue(reviewer)  # other_reviewer is not a member of this one
    make_clip("one")
    response = as_user(client, personas[who]).get(f"/review/{queue.pk}/")
    assert response.status_code == status
    if who == "anonymous":
        assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(("who", "status"), [("reviewer", 200), ("lead", 403), ("officer", 403), ("anonymous", 401)])
def test_claim_api_by_role(client, personas, queue, who, status):
    make_clip("one")
    response = post_json(as_user(client, personas[who]), "/review/api/claim", {"queue_id": queue.pk})
    assert response.status_code == status
    if status == 200:
        assert len(response.json()["tasks"]) == 1


def test_claim_api_refuses_a_queue_the_reviewer_is_not_in(client, reviewer, other_reviewer):
    foreign = make_queue(other_reviewer)
    make_clip("one")
    response = post_json(as_user(client, reviewer), "/review/api/claim", {"queue_id": foreign.pk})
    assert response.status_code == 404
    assert not Task.objects.filter(claimed_by=reviewer).exists()


@pytest.fixture(scope="class")
def held_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The personas and a clip the reviewer holds, built once for a class of cells (built_once)."""
    folder = tmp_path_factory.mktemp("held")
    with built_once(django_db_blocker, folder):
        with django_db_blocker.unblock():
            people = {who: make_persona(who) for who in ("reviewer", "other_reviewer", "lead", "officer")}
            queue = make_queue(people["reviewer"], people["other_reviewer"])
            make_clip("set a timer for ten minutes")
            held = claims.claim_next(user=people["reviewer"], queue=queue)
        yield {**people, "anonymous": None}, held, folder


class TestSomeoneElsesClip:
    """Nobody but its holder acts on a held clip or plays it: one world for all the cells, each cell's
    request in a savepoint of it."""

    @pytest.fixture
    def private_storage(self, held_world):
        return held_world[2]

    @pytest.fixture
    def personas(self, held_world):
        return held_world[0]

    @pytest.fixture
    def reviewer(self, held_world):
        return held_world[0]["reviewer"]

    @pytest.fixture
    def held(self, held_world):
        return held_world[1]

    @pytest.mark.parametrize("action", ["submit", "skip", "renew"])
    @pytest.mark.parametrize(
        ("who", "status"), [("other_reviewer", 409), ("lead", 403), ("officer", 403), ("anonymous", 401)]
    )
    def test_task_actions_on_someone_elses_clip(self, client, personas, held, action, who, status):
        body = {"idempotency_key": "x", "corrected_text": "hijack", "reason": "other"}
        response = post_json(as_user(client, personas[who]), f"/review/api/tasks/{held.pk}/{action}", body)
        assert response.status_code == status
        held.refresh_from_db()
        assert held.state == Task.State.CLAIMED and held.claimed_by == personas["reviewer"]

    @pytest.mark.parametrize("who", ["other_reviewer", "lead", "officer", "anonymous"])
    def test_nobody_else_can_use_the_holders_audio_url(self, client, personas, reviewer, held, who):
        url = audio_url(held, reviewer)
        assert as_user(client, personas[who]).get(url).status_code == 404


def test_get_on_api_endpoints_is_refused(client, reviewer, held):
    client.force_login(reviewer)
    assert client.get("/review/api/claim").status_code == 405
    assert client.get(f"/review/api/tasks/{held.pk}/submit").status_code == 405


def test_empty_queue_shows_an_empty_state(client, queue, reviewer):
    client.force_login(reviewer)
    response = client.get(f"/review/{queue.pk}/")
    assert response.status_code == 200
    assert response.context["state"]["tasks"] == []


def test_home_lists_the_reviewers_queues_with_open_counts(client, reviewer, other_reviewer):
    mine = make_queue(reviewer, name="Music")
    make_queue(other_reviewer, name="Not mine")
    make_clip("one")
    make_clip("two")
    client.force_login(reviewer)
    response = client.get("/")
    assert response.status_code == 200
    queues = list(response.context["queues"])
    assert [(q.name, q.open_count) for q in queues] == [("Music", 2)]
    assert f"/review/{mine.pk}/" in response.content.decode()


# --- audio ------------------------------------------------------------------------------


def audio_url(task, user):
    return reverse(
        "review-audio", args=[selectors.audio_token(task_id=task.pk, clip_public_id=task.clip.public_id, user=user)]
    )


def test_the_holder_gets_the_audio_uncached_and_audited(client, reviewer, held):
    client.force_login(reviewer)
    response = client.get(audio_url(held, reviewer), REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Cache-Control"] == "no-store, private"
    assert response["Content-Disposition"] == "inline"
    assert response.content[:4] == b"RIFF"
    event = AuditEvent.objects.get(action="audio.play")
    assert (event.actor, event.clip_public_id, event.ip) == (reviewer, held.clip.public_id, "10.1.2.3")


def test_range_requests_work_so_seeking_works(client, reviewer, held):
    client.force_login(reviewer)
    url = audio_url(held, reviewer)
    whole = client.get(url).content
    part = client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(whole)}"
    assert part.content == whole[100:200]
    tail = client.get(url, HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and tail.content == whole[-10:]
    beyond = client.get(url, HTTP_RANGE=f"bytes={len(whole) + 5}-")
    assert beyond.status_code == 416
    assert AuditEvent.objects.filter(action="audio.play").count() == 4  # every request, even the refused range


def test_an_expired_audio_url_is_refused(client, reviewer, held, settings):
    url = audio_url(held, reviewer)
    settings.ANNOTATE_AUDIO_URL_SECONDS = -1
    client.force_login(reviewer)
    assert client.get(url).status_code == 404


def test_a_forged_audio_url_is_refused(client, reviewer, held, queue):
    other = make_clip("two")
    token = signing.dumps({"t": held.pk, "u": reviewer.pk, "c": other.public_id}, salt="wrong salt")
    client.force_login(reviewer)
    assert client.get(f"/review/audio/{token}").status_code == 404


def test_the_audio_url_dies_with_the_claim(client, reviewer, held):
    url = audio_url(held, reviewer)
    claims.skip(user=reviewer, task_id=held.pk, reason="other")
    client.force_login(reviewer)
    assert client.get(url).status_code == 404


# --- identity never reaches the reviewer ----------------------------------------------------


def test_no_identifier_of_the_recorded_person_on_the_page_api_audio_or_logs(client, queue, reviewer, canary, caplog):
    caplog.set_level(logging.DEBUG)
    result = ingest.ingest_clip(data=(AUDIO / "timer.ogg").read_bytes(), meta=ingest.parse_meta(canary.meta()))
    clip = result.clip
    Clip.objects.filter(pk=clip.pk).update(state=Clip.State.READY)
    MachineTranscript.objects.create(clip=clip, model_name="tiny.en", text="set a timer for ten minutes")
    client.force_login(reviewer)
    page = client.get(f"/review/{queue.pk}/")
    assert page.status_code == 200
    task_id = page.context["state"]["tasks"][0]["task_id"]
    api = post_json(client, "/review/api/claim", {"queue_id": queue.pk})
    sound = client.get(api.json()["tasks"][0]["audio_url"])
    submitted = post_json(
        client, f"/review/api/tasks/{task_id}/submit", {"idempotency_key": "k", "corrected_text": "set a timer"}
    )
    assert submitted.status_code == 201
    for response in (page, api, sound, submitted):
        assert canary.found_in(response.content) == []
    assert canary.found_in(caplog.text) == []


# --- the audit log is append-only --------------------------------------------------------------


@pytest.mark.postgres
def test_the_database_refuses_to_change_or_delete_audit_events(reviewer):
    event = AuditEvent.objects.create(actor=reviewer, action="audio.play", clip_public_id="c_1")
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="nothing")
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "audio.play"


# --- query counts of the hot paths ------------------------------------------------------------


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


@contextmanager
def statements_counted() -> Iterator[dict[str, int]]:
    """SQL statements of the block: {"sql": statements, "round_trips": with BEGIN and COMMIT too}."""
    counts: dict[str, int] = {}
    with CaptureQueriesContext(connection) as captured:
        yield counts
    sql = [q["sql"] for q in captured.captured_queries]
    counts["round_trips"] = len(sql)
    counts["sql"] = sum(1 for text in sql if not text.strip().upper().startswith(TRANSACTION_CONTROL))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # as deployed: the requests' own transactions, no test savepoints
def test_query_counts_of_claim_submit_and_page(client, queue, reviewer):
    """The reviewer's loop costs the session's query, the user's (with their roles) and, for the page
    and a claim, the claim statement; for a submit, the task marked done and the annotation stored,
    in one transaction (issue 14: claim at most 3 statements, submit at most 4, the page at most 10;
    as the issue counts them, BEGIN and COMMIT aside). The quality figures follow in a worker (the
    annotation outbox), not in the submit."""
    for i in range(4):
        make_clip(f"clip {i}")
    client.force_login(reviewer)
    client.get("/")  # the session's last activity is written on the first request
    with statements_counted() as page_counts:
        page = client.get(f"/review/{queue.pk}/")
    task_id = page.context["state"]["tasks"][0]["task_id"]
    with statements_counted() as submit_counts:
        response = post_json(
            client,
            f"/review/api/tasks/{task_id}/submit",
            {"idempotency_key": "k", "corrected_text": "clip 0", "listened_fraction": 1.0},
        )
    assert response.status_code == 201
    with statements_counted() as claim_counts:
        claimed = post_json(client, "/review/api/claim", {"queue_id": queue.pk})
    assert page_counts == {"sql": 3, "round_trips": 3}  # the session, the user with their roles, the claim
    assert claim_counts == {"sql": 3, "round_trips": 3}  # one statement: no transaction of its own
    assert submit_counts == {"sql": 4, "round_trips": 6}  # the session, the user, the task done, the annotation
    assert [t["task_id"] for t in claimed.json()["tasks"]][0] != task_id


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_every_statement_of_the_reviewer_loop_runs_prepared(client, queue, reviewer):
    """Planning the claim statement costs several times running it, and building the session's
    and the user's ORM queries more than reading them: after a few runs on a connection,
    PostgreSQL holds all five statements of the loop (the session, the user with their roles,
    the claim, the submit's finish and its annotation's INSERT) as prepared statements, parsed and planned once per
    connection (Django turns psycopg's preparing off unless OPTIONS set it), with JIT off (a
    generic plan's guessed cost at 1M open tasks made PostgreSQL compile the claim: 290 ms)."""
    from django.db import connection

    for i in range(6):
        make_clip(f"clip {i}")
    client.force_login(reviewer)
    client.get("/")
    for i in range(4):
        claimed = post_json(client, "/review/api/claim", {"queue_id": queue.pk}).json()["tasks"]
        done = post_json(
            client,
            f"/review/api/tasks/{claimed[0]['task_id']}/submit",
            {"idempotency_key": f"k{i}", "corrected_text": "fixed", "listened_fraction": 1.0},
        )
        assert done.status_code == 201
    # The test client's requests share this thread's connection with the test.
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, custom_plans FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = cursor.fetchall()
        cursor.execute("SHOW jit")
        jit = cursor.fetchone()[0]
    for part in ("mine AS", "locked AS", "FROM django_session", "FROM auth_user u", 'INSERT INTO "review_annotation"'):
        assert any(part in text for text, _ in prepared), (part, prepared)
    assert all(custom == 0 for _, custom in prepared), prepared  # planned once
    assert jit == "off"


def test_hand_written_statements_are_numbered_once_with_each_name_one_parameter():
    """annotate.sql sends its statements through psycopg's RawCursor ($1, $2…): a name used twice
    is one parameter, and a literal %% stays a percent sign."""
    from annotate.sql import _numbered

    text, names = _numbered("SELECT %(a)s, %(b)s, %(a)s WHERE x LIKE 'c%%'")
    assert text == "SELECT $1, $2, $1 WHERE x LIKE 'c%'"
    assert names == ("a", "b")


def test_the_query_log_shows_hand_written_statements_as_written(client, queue, reviewer):
    """Django's query log (DEBUG, assertNumQueries) names the claim by its text with its
    %(name)s parameters, not the $1, $2… form sent to PostgreSQL."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_clip("one")
    client.force_login(reviewer)
    with CaptureQueriesContext(connection) as queries:
        assert post_json(client, "/review/api/claim", {"queue_id": queue.pk}).status_code == 200
    claim = next(q["sql"] for q in queries.captured_queries if "mine AS" in q["sql"])
    assert "%(user)s" in claim and "$1" not in claim
