"""Claim-next on PostgreSQL with concurrent reviewers: latency, throughput, duplicates.

    .venv/bin/python bench/claim.py [--tasks 10k,100k] [--reviewers 64] [--seconds 20]
                                    [--think 30,3,0] [--history 50] [--mode process|thread] [--keep]

For each size N it creates a database annotate_bench_claim_<N> on the server of
BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), migrates
it, adds N transcribed clips with Whisper transcripts and N open tasks in one
queue, gives each reviewer a past (--history reviewed clips: done tasks and
annotations, which the claim query consults), runs VACUUM ANALYZE, and then, for
each think time T, runs R reviewers at once for S seconds (at least 2T). Each
reviewer loops: claims.claim_next → waits about T seconds (the review; 0.5T to
1.5T) → review.services.submit with a short corrected text (so jiwer runs).

Reviewers are separate processes by default (`--mode process`), each with its own
connection and warmed up (one claim and submit, rolled back) before timing
starts, like one web worker per reviewer: the figures are then the claim path
(ORM + PostgreSQL), not Python's GIL, which in `--mode thread` serialises the
reviewers' ORM work in one interpreter. The cores are shared by the reviewers
and PostgreSQL. T=30 s is about the reported human pace (1,000 clips in a 9-hour
shift); T=3 s is every reviewer ten times faster; T=0 has every reviewer claiming
back to back, which measures capacity: latency there is mostly queueing for the CPU.

Printed per size and think time: p50/p95/p99 ms of claim and of submit; of the
claim, the time spent in its queries (round trips, COMMIT excluded) and the
reviewer's own CPU time (Python, mostly building the ORM queries); throughput
(claims + submits per second); and duplicates (a task claimed twice: must be 0).
Per size, after the load: the server's planning and execution time of each of
the claim's statements (medians of EXPLAIN ANALYZE, which the machine's load
disturbs far less than latency) and the plans of its SELECT … FOR UPDATE. The
databases are dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup  # noqa: E402
from bench._setup import percentile, size  # noqa: E402

DB_PREFIX = "annotate_bench_claim_"
BARRIER_SECONDS = 300  # every reviewer connected and warmed up, or the run fails


@dataclass
class Result:
    """One reviewer's figures (milliseconds) and the tasks it claimed."""

    claim_ms: list[float] = field(default_factory=list)
    claim_db_ms: list[float] = field(default_factory=list)
    claim_cpu_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    submit_cpu_ms: list[float] = field(default_factory=list)
    task_ids: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# --- one reviewer ------------------------------------------------------------------------


def warm_up(user, queue) -> None:
    """One claim and submit, rolled back: connects, and fills Django's lazy caches before timing."""
    from django.db import transaction

    from annotate.queues import claims
    from annotate.review.services import Submission, submit

    with transaction.atomic():
        task = claims.claim_next(user=user, queue=queue)
        if task is not None:
            submit(
                user=user, task_id=task.pk, submission=Submission(idempotency_key=uuid.uuid4().hex, corrected_text="x")
            )
        transaction.set_rollback(True)


def review(user_id: int, queue_id: int, think: float, deadline_in: float, start) -> Result:
    """Claim → think → submit until the time is up or the queue is empty."""
    from django.contrib.auth.models import User
    from django.db import connection

    from annotate.queues import claims
    from annotate.queues.models import Queue
    from annotate.review.services import Submission, submit

    result = Result()
    try:
        user, queue = User.objects.get(pk=user_id), Queue.objects.get(pk=queue_id)
        warm_up(user, queue)
        db_seconds = [0.0]

        def timed(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                db_seconds[0] += time.perf_counter() - started

        rng = random.Random(user_id)
        start.wait()
        deadline = time.monotonic() + deadline_in
        if think:  # reviewers are at different points of their review, not all claiming at once
            time.sleep(rng.uniform(0, think))
        while time.monotonic() < deadline:
            db_seconds[0] = 0.0
            started, cpu_started = time.perf_counter(), time.thread_time()
            with connection.execute_wrapper(timed):
                task = claims.claim_next(user=user, queue=queue)
            result.claim_ms.append((time.perf_counter() - started) * 1000)
            result.claim_cpu_ms.append((time.thread_time() - cpu_started) * 1000)
            result.claim_db_ms.append(db_seconds[0] * 1000)
            if task is None:
                break
            result.task_ids.append(task.pk)
            if think:
                time.sleep(rng.uniform(0.5, 1.5) * think)
            started, cpu_started = time.perf_counter(), time.thread_time()
            submit(
                user=user,
                task_id=task.pk,
                submission=Submission(idempotency_key=uuid.uuid4().hex, corrected_text="set a timer for ten minute"),
            )
            result.submit_ms.append((time.perf_counter() - started) * 1000)
            result.submit_cpu_ms.append((time.thread_time() - cpu_started) * 1000)
    except Exception as exc:  # reported, and counted as a failure of the run
        result.errors.append(f"{type(exc).__name__}: {exc}")
        start.abort()  # a reviewer that fails before the start must not leave the others waiting
    finally:
        connection.close()
    return result


def _review_in_process(args, start, results) -> None:
    results.put(review(*args, start=start))


def run_reviewers(*, mode: str, user_ids: list[int], queue_id: int, think: float, seconds: float) -> tuple:
    """Run every reviewer at once; returns (results, wall seconds)."""
    from django.contrib.auth.models import User
    from django.db import connections

    from annotate.queues.models import Queue

    # Warm up here too, so that forked reviewers start with Django's caches filled.
    warm_up(User.objects.get(pk=user_ids[0]), Queue.objects.get(pk=queue_id))

    if mode == "thread":
        start = threading.Barrier(len(user_ids) + 1, timeout=BARRIER_SECONDS)
        results: list[Result] = []
        threads = [
            threading.Thread(target=lambda u=u: results.append(review(u, queue_id, think, seconds, start)))
            for u in user_ids
        ]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        return results, time.perf_counter() - began

    connections.close_all()  # never share a connection with the forked reviewers
    for conn in connections.all():  # nor the pool, whose connections close_all only gave back
        if hasattr(conn, "close_pool"):
            conn.close_pool()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(len(user_ids) + 1, timeout=BARRIER_SECONDS)
    queue = context.Queue()
    processes = [
        context.Process(target=_review_in_process, args=((u, queue_id, think, seconds), start, queue)) for u in user_ids
    ]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    results = [queue.get() for _ in processes]
    wall = time.perf_counter() - began
    for process in processes:
        process.join()
    return results, wall


# --- the figures ------------------------------------------------------------------------------


def explain_claim(queue_id: int, user_id: int, repeat: int = 20) -> str:
    """The queries of one real claim_next by a reviewer with a past, and the server's time for them.

    Runs claim_next in a transaction rolled back, then EXPLAIN ANALYZE of each of its
    SELECT … FOR UPDATE `repeat` times (rolled back too): the median planning and
    execution time, which the machine's load disturbs far less than latency, and the
    last plan.
    """
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from annotate.queues import claims
    from annotate.queues.models import Queue

    user, queue = User.objects.get(pk=user_id), Queue.objects.get(pk=queue_id)
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        claims.claim_next(user=user, queue=queue)
        transaction.set_rollback(True)
    statements = [q["sql"] for q in captured.captured_queries if q["sql"].split(" ", 1)[0] in {"SELECT", "UPDATE"}]
    out = [f"  a claim runs {len(statements)} statements; server time per statement (median of {repeat}):"]
    plans = []
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in statements:
            planning, execution = [], []
            for _ in range(repeat):
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
                (doc,) = cursor.fetchone()
                planning.append(doc[0]["Planning Time"])
                execution.append(doc[0]["Execution Time"])
            what = sql[:60] + ("… FOR UPDATE SKIP LOCKED" if "SKIP LOCKED" in sql else "")
            out.append(
                f"    planning {statistics.median(planning):5.2f} ms  execution {statistics.median(execution):5.2f} ms"
                f"  {what}"
            )
            if "FOR UPDATE" in sql:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
                plans.append("\n".join("    " + row[0] for row in cursor.fetchall()))
        transaction.set_rollback(True)
    return "\n".join(out) + "\n  plans:\n" + "\n\n".join(plans)


def report(results: list[Result], wall: float, think: float, reviewers: int) -> list[str]:
    claim = [ms for r in results for ms in r.claim_ms]
    claim_db = [ms for r in results for ms in r.claim_db_ms]
    claim_cpu = [ms for r in results for ms in r.claim_cpu_ms]
    submit = [ms for r in results for ms in r.submit_ms]
    submit_cpu = [ms for r in results for ms in r.submit_cpu_ms]
    claimed = Counter(task_id for r in results for task_id in r.task_ids)
    duplicates = sum(n - 1 for n in claimed.values() if n > 1)
    errors = [e for r in results for e in r.errors]

    def line(name: str, values: list[float]) -> str:
        return (
            f"    {name:<14} n={len(values):<6} p50 {percentile(values, 50):7.1f}  p95 {percentile(values, 95):7.1f}"
            f"  p99 {percentile(values, 99):7.1f}  max {max(values, default=float('nan')):7.1f} ms"
        )

    lines = [
        f"  think {think:g} s, {reviewers} reviewers, {wall:.1f} s",
        line("claim", claim),
        line("  in queries", claim_db),
        line("  Python CPU", claim_cpu),
        line("submit", submit),
        line("  Python CPU", submit_cpu),
        f"    throughput     {(len(claim) + len(submit)) / wall:.0f} claims+submits/s"
        f" ({len(submit) / wall:.0f} clips/s)",
        f"    duplicates     {duplicates}",
    ]
    if errors:
        lines.append(f"    ERRORS         {len(errors)}: {Counter(errors).most_common(3)}")
    return lines


def bench_size(args, tasks: int) -> None:
    name = f"{DB_PREFIX}{tasks}"
    print(f"\n=== {tasks:,} open tasks ===")
    _setup.use_database(name, verbose=False)
    from annotate.queues.models import Queue, Task
    from annotate.review.models import Annotation

    queue = Queue.objects.create(name="bench")
    started = time.perf_counter()
    _setup.fill_queue(queue, tasks)
    print(f"  filled {tasks:,} clips + transcripts + tasks in {time.perf_counter() - started:.1f} s ({name})")
    users = _setup.make_users("reviewer", args.reviewers, "reviewer")
    queue.members.add(*users)
    _setup.add_history(queue, users, args.history)
    print(f"  history: {args.history} reviewed clips per reviewer (done tasks + annotations), then VACUUM ANALYZE")
    user_ids = [u.pk for u in users]

    for think in args.think:
        results, wall = run_reviewers(
            mode=args.mode, user_ids=user_ids, queue_id=queue.pk, think=think, seconds=max(args.seconds, 2 * think)
        )
        print("\n".join(report(results, wall, think, args.reviewers)))
        print(f"    load average   {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

    done = Task.objects.filter(queue=queue, state=Task.State.DONE).count()
    print(
        f"  tasks done {done:,}, annotations {Annotation.objects.count():,}, "
        f"still open {Task.objects.filter(queue=queue, state=Task.State.OPEN).count():,}"
    )
    print("  the claim's queries (EXPLAIN ANALYZE after the load, by a reviewer with a past):")
    print(explain_claim(queue.pk, user_ids[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="10k,100k", help="open task counts, comma-separated (10000, 10k, 1M)")
    parser.add_argument("--reviewers", type=int, default=64)
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="per size and think time (at least twice the think time)"
    )
    parser.add_argument(
        "--think", default="30,3,0", help="mean seconds between claim and submit (the review), comma-separated"
    )
    parser.add_argument("--history", type=int, default=50, help="clips each reviewer already reviewed")
    parser.add_argument("--mode", choices=["process", "thread"], default="process")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    args.think = [float(t) for t in args.think.split(",")]
    sizes = [size(t) for t in args.tasks.split(",")]

    print(f"cpu cores        {os.cpu_count()} (shared by the reviewers and PostgreSQL)")
    print(f"load average     {' '.join(f'{x:.1f}' for x in os.getloadavg())} (before)")
    print(f"reviewers        {args.reviewers} {args.mode}es, one connection each")
    with _setup.admin_connection() as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        autovacuum = conn.execute("SHOW autovacuum").fetchone()[0]
    print(f"PostgreSQL       {version}, autovacuum {autovacuum}")
    try:
        for tasks in sizes:
            bench_size(args, tasks)
    finally:
        from django.apps import apps
        from django.db import connections

        if apps.ready:
            connections.close_all()
        if not args.keep:
            for tasks in sizes:
                _setup.drop_database(f"{DB_PREFIX}{tasks}")


if __name__ == "__main__":
    main()
