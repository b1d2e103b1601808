"""Many reviewers at once over HTTP, against the deployed web server (uvicorn, two worker
processes, as the README runs it) and PostgreSQL.

Each reviewer is a thread with its own signed-in HTTP session (its own TCP
connections), as a browser tab is; clips are made ready (a machine transcript,
tasks in the queue) straight in the stack's database, since Whisper is not
what these tests are about. The figures (requests, peak connections) are
printed; nothing here asserts on time.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.topology.stack import WEB_WORKERS, Stack, StackUser

pytestmark = pytest.mark.topology

PAIRS = 20
REVIEWERS = 64
CLIPS_PER_REVIEWER = 4
TWICE_EVERY = 5  # every 5th submit (of all reviewers) is sent twice at once, the page's retry racing it: 20 %
WEB_POOL_MAX = 10  # ANNOTATE_DB_POOL_MAX of each web worker process in these tests (the documented default)
POOL_MARGIN = 2  # per process: a connection being replaced by the pool while the old one closes

# Runs in `manage.py shell -c` on the stack: queues with their members and ready clips
# (a machine transcript each) with `overlap` tasks per clip, as ingest and sampling leave them.
READY_CLIPS = """
import hashlib
from django.contrib.auth.models import User
from annotate.clips.models import Clip, MachineTranscript
from annotate.queues.models import Queue, Task

result = {}
for spec in args["queues"]:
    queue = Queue.objects.create(name=spec["name"], overlap=spec["overlap"])
    queue.members.add(*User.objects.filter(username__in=spec["members"]))
    texts = [f"turn on the light in room {i}" for i in range(spec["clips"])]
    clips = Clip.objects.bulk_create([
        Clip(
            content_sha256=hashlib.sha256(f"{spec['name']} {i}".encode()).hexdigest(),
            duration_ms=1500, peaks=[0.5] * 50, locale="en-US", device_type="speaker",
            heard=text, response="OK", intent="LightsOn", state=Clip.State.READY,
        )
        for i, text in enumerate(texts)
    ])
    MachineTranscript.objects.bulk_create([
        MachineTranscript(clip=clip, model_name="tiny.en", language="en", text=text) for clip, text in zip(clips, texts)
    ])
    Task.objects.bulk_create([Task(queue=queue, clip=clip, slot=s) for clip in clips for s in range(spec["overlap"])])
    result[spec["name"]] = queue.pk
"""


def ready_queues(stack: Stack, specs: list[dict]) -> dict[str, int]:
    ids = stack.django(READY_CLIPS, queues=specs)
    stack.sql("ANALYZE")  # planner statistics, as autovacuum would gather them
    return ids


class Tally:
    """Every answer the reviewers got, by status, across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []
        self.twice = 0

    def record(self, what: str, response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code >= 500:
                self.server_errors.append(f"{what}: {response.status_code} {response.text[:200]}")


class ConnectionWatch:
    """Polls pg_stat_activity for the stack's database while the block runs; keeps the peak."""

    def __init__(self, stack: Stack, interval: float = 0.05) -> None:
        self.stack, self.interval = stack, interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.stack.database_url, autocommit=True, connect_timeout=5) as conn:
            while not self._stop.is_set():
                count = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()"
                ).fetchone()[0]
                self.peak, self.samples = max(self.peak, count), self.samples + 1
                self._stop.wait(self.interval)

    def __enter__(self) -> ConnectionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def each_at_once(work: Callable[[int], object], count: int) -> list:
    """Run work(0..count-1) in `count` threads at once; re-raise any error."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        return [future.result(timeout=300) for future in [pool.submit(work, i) for i in range(count)]]


# --- (a) flag and submit of the same clip at once --------------------------------------------------


def test_simultaneous_flag_and_submit_pairs_over_http_never_answer_5xx(stack):
    names = [(f"submitter{i:02d}", f"flagger{i:02d}") for i in range(PAIRS)]
    users = stack.users({name: ["reviewer"] for pair in names for name in pair})
    # One overlap queue (k=2) per pair, with one clip: both reviewers of the pair hold a task of it.
    queue_ids = ready_queues(
        stack, [{"name": f"pair {i}", "overlap": 2, "members": list(pair), "clips": 1} for i, pair in enumerate(names)]
    )
    stack.env["ANNOTATE_DB_POOL_MAX"] = str(WEB_POOL_MAX)
    stack.web()
    tally = Tally()

    def claim(user: StackUser, queue_id: int):
        client = stack.client(user)
        response = client.post("/review/api/claim", json={"queue_id": queue_id})
        tally.record("claim", response)
        [task] = response.json()["tasks"]
        return client, task

    def pair(i: int):
        submitter, flagger = (users[name] for name in names[i])
        queue_id = queue_ids[f"pair {i}"]
        (a, mine), (b, theirs) = claim(submitter, queue_id), claim(flagger, queue_id)
        assert mine["clip"]["public_id"] == theirs["clip"]["public_id"] and mine["task_id"] != theirs["task_id"]
        barrier = threading.Barrier(2, timeout=60)

        def submit():
            barrier.wait()
            body = {"idempotency_key": f"pair-{i}", "corrected_text": "turn on the light"}
            return a.post(f"/review/api/tasks/{mine['task_id']}/submit", json=body)

        def flag():
            barrier.wait()
            return b.post("/cases/api/flags", json={"task_id": theirs["task_id"], "category": "distressing"})

        with ThreadPoolExecutor(max_workers=2) as both:
            submitted, flagged = both.submit(submit), both.submit(flag)
            submitted, flagged = submitted.result(timeout=120), flagged.result(timeout=120)
        tally.record("submit", submitted)
        tally.record("flag", flagged)
        return mine["task_id"], submitted, flagged

    results = each_at_once(pair, PAIRS)

    print(f"\nflag/submit pairs: {PAIRS}; answers by status: {dict(sorted(tally.statuses.items()))}")
    assert tally.server_errors == []
    for task_id, submitted, flagged in results:
        assert flagged.status_code == 201, flagged.text
        if submitted.status_code == 201:  # saved before the flag withdrew the clip
            assert stack.sql("SELECT state FROM queues_task WHERE id = %s", [task_id]) == [("done",)]
        else:  # the flag came first: the reviewer is told so, and nothing is stored
            assert submitted.status_code == 409, submitted.text
            assert submitted.json()["reason"] == "escalated"
            assert stack.sql("SELECT state FROM queues_task WHERE id = %s", [task_id]) == [("withdrawn",)]
            assert stack.sql("SELECT count(*) FROM review_annotation WHERE task_id = %s", [task_id]) == [(0,)]
    assert stack.sql("SELECT count(*) FROM escalation_case") == [(PAIRS,)]
    assert stack.sql("SELECT count(*) FROM escalation_flag") == [(PAIRS,)]


# --- (b) 64 reviewers working a queue at once ----------------------------------------------------------


def test_64_reviewers_over_http_no_clip_twice_nothing_doubled_or_lost_connections_bounded(stack):
    names = [f"reviewer{i:02d}" for i in range(REVIEWERS)]
    users = stack.users({name: ["reviewer"] for name in names})
    clips = REVIEWERS * CLIPS_PER_REVIEWER
    queue_id = ready_queues(stack, [{"name": "busy", "overlap": 1, "members": names, "clips": clips}])["busy"]
    stack.env["ANNOTATE_DB_POOL_MAX"] = str(WEB_POOL_MAX)
    stack.web()
    tally = Tally()
    handed: dict[int, set[str]] = defaultdict(set)  # task id -> every reviewer a claim answer listed it for
    saved: dict[int, tuple[str, int]] = {}  # task id -> (reviewer, annotation id) from 201/200 answers
    lock = threading.Lock()
    submits = itertools.count(1)
    clients = {name: (stack.client(users[name]), stack.client(users[name])) for name in names}
    start = threading.Barrier(REVIEWERS, timeout=60)

    def review(i: int) -> int:
        name = names[i]
        client, retry_client = clients[name]  # the retry goes out on a connection of its own
        done = 0
        start.wait()
        while True:
            response = client.post("/review/api/claim", json={"queue_id": queue_id})
            tally.record("claim", response)
            assert response.status_code == 200, f"claim of {name}: {response.status_code} {response.text[:200]}"
            tasks = response.json()["tasks"]
            with lock:
                for task in tasks:
                    handed[task["task_id"]].add(name)
            if not tasks:
                return done
            task_id = tasks[0]["task_id"]
            url = f"/review/api/tasks/{task_id}/submit"
            body = {"idempotency_key": f"{name}-{task_id}", "corrected_text": f"{tasks[0]['whisper']['text']} please"}
            with lock:
                twice = next(submits) % TWICE_EVERY == 0
            if twice:
                with ThreadPoolExecutor(max_workers=2) as pool:
                    first, again = (pool.submit(c.post, url, json=body) for c in (client, retry_client))
                    answers = [first.result(timeout=120), again.result(timeout=120)]
                assert sorted(a.status_code for a in answers) == [200, 201], [a.text for a in answers]
                assert len({a.json()["annotation_id"] for a in answers}) == 1
                with lock:
                    tally.twice += 1
            else:
                answers = [client.post(url, json=body)]
                assert answers[0].status_code == 201, answers[0].text
            for answer in answers:
                tally.record("submit", answer)
            with lock:
                saved[task_id] = (name, answers[0].json()["annotation_id"])
            done += 1

    started = time.monotonic()
    with ConnectionWatch(stack) as watch:
        per_reviewer = each_at_once(review, REVIEWERS)
    seconds = time.monotonic() - started

    requests_sent = sum(tally.statuses.values())
    print(
        f"\n{REVIEWERS} reviewers, {clips} clips, {tally.twice} submits sent twice at once: "
        f"{requests_sent} requests in {seconds:.1f} s "
        f"({requests_sent / seconds:.0f}/s); answers by status: {dict(sorted(tally.statuses.items()))}; "
        f"clips per reviewer {min(per_reviewer)}..{max(per_reviewer)}; PostgreSQL connections to the stack's "
        f"database at most {watch.peak} ({watch.samples} samples; web pool max {WEB_POOL_MAX} in each of "
        f"{WEB_WORKERS} worker processes)"
    )
    assert tally.server_errors == []
    assert [task for task, reviewers in handed.items() if len(reviewers) > 1] == []
    assert sum(per_reviewer) == clips and len(saved) == clips
    assert tally.twice == clips // TWICE_EVERY
    # Nothing doubled: one annotation per task; nothing lost: every saved answer is in the database.
    rows = stack.sql(
        "SELECT a.task_id, u.username, a.id FROM review_annotation a JOIN auth_user u ON u.id = a.reviewer_id"
    )
    assert len(rows) == clips
    assert {task_id: (username, pk) for task_id, username, pk in rows} == saved
    assert stack.sql("SELECT state, count(*) FROM queues_task GROUP BY state") == [("done", clips)]
    # Each worker process has a pool of its own: the README's sizing (worker processes × pool max).
    assert watch.samples > 0 and watch.peak <= WEB_WORKERS * (WEB_POOL_MAX + POOL_MARGIN)
