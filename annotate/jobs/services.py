"""Scheduling, running and sweeping background jobs (see the package docstring).

- `schedule()` records a job in the caller's transaction and hands it to RQ once
  the transaction commits (in process, when REDIS_URL is unset). A Redis outage
  never fails the caller: the row waits for the sweeper.
- `run()` is the RQ job. It takes the row exclusively (a PostgreSQL advisory lock
  held by the running process's connection, so it is released the moment that
  process dies), runs the function, and records the outcome and any retry in the
  database. Retries need no RQ scheduler: a failed attempt is due again after its
  interval, and the sweeper enqueues it then.
- `sweep()` runs in every worker, every ANNOTATE_SWEEP_SECONDS: a running row
  whose process is gone goes back to pending, and every due pending row without a
  queued RQ job is enqueued again under the same job id.

A job function is called as `func(*args, final_attempt=bool)`. It may carry an
`on_give_up(*args, error=str)` attribute, called when the job fails for good
without the function having run to its end (its process kept dying).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from annotate.jobs.models import Job

log = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x6A6F62  # "job": first half of every advisory lock key of a job row
SWEEP_LOCK = (LOCK_NAMESPACE + 1, 0)  # one sweeper at a time across all workers
DEAD_AFTER_SECONDS = 120  # without advisory locks (SQLite): a running row this far past its timeout is dead
REDIS_TIMEOUT_SECONDS = 5  # handing a job to RQ: the longest a command may wait for Redis
RQ_GRACE_SECONDS = 60  # RQ's own timeout is the row's plus this, so the row's handling runs first

_process_name = f"{socket.gethostname()}:{os.getpid()}"


class UnknownJob(LookupError):
    pass


def dotted(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.rpartition(".")
    try:
        return getattr(import_module(module), name)
    except (ImportError, AttributeError):
        raise UnknownJob(f"no job function {path!r}") from None


def schedule(
    queue_name: str,
    func: Callable[..., Any] | str,
    *args: Any,
    key: str,
    retries: int = 0,
    retry_intervals: list[int] | None = None,
    timeout: int = 600,
) -> Job:
    """Record a job in the current transaction; it is handed to RQ once the transaction commits.

    `func` is the job function or its dotted path (the path spares a module that is
    imported by its own jobs module an import cycle). `key` names what the job is
    about (say "asr:clip:12"): while a job with that key is pending or running,
    scheduling it again returns that job, so the same work is never queued twice.
    """
    if queue_name not in settings.RQ_QUEUE_NAMES:
        raise ValueError(f"unknown queue {queue_name!r}; one of: {', '.join(settings.RQ_QUEUE_NAMES)}")
    existing = Job.objects.filter(key=key, state__in=Job.OPEN_STATES).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():  # a savepoint: a concurrent duplicate must not break the caller's transaction
            job = Job.objects.create(
                queue=queue_name,
                func=func if isinstance(func, str) else dotted(func),
                args=list(args),
                key=key,
                max_attempts=retries + 1,
                retry_intervals=list(retry_intervals or []),
                timeout=timeout,
                next_attempt_at=timezone.now(),
            )
    except IntegrityError:
        existing = Job.objects.filter(key=key, state__in=Job.OPEN_STATES).first()
        if existing is None:
            raise
        return existing
    transaction.on_commit(lambda: dispatch(job.pk), robust=True)
    return job


KICK_WAITING_SECONDS = 300  # a kick's mark outlives a worker that is slow to take it, not a lost one


def kick(queue_name: str, path: str) -> None:
    """Once the current transaction commits, have a worker run the function at `path` (no arguments).

    For work whose own rows are the outbox (say annotations not yet derived): the kick only
    makes a worker look soon, and carries nothing that could be lost. No row, no query: if
    Redis is unavailable the kick is dropped and the sweeper's hook for that work finds it.
    Kicks coalesce: while one waits in RQ, another for the same function adds nothing (the
    waiting one, once it starts, finds this work too). Without Redis (the demo) the function
    runs here, after the commit.
    """
    if queue_name not in settings.RQ_QUEUE_NAMES:
        raise ValueError(f"unknown queue {queue_name!r}; one of: {', '.join(settings.RQ_QUEUE_NAMES)}")
    transaction.on_commit(lambda: _kick_now(queue_name, path), robust=True)


def _kick_key(queue_name: str, path: str) -> str:
    return f"annotate:kick:{queue_name}:{path}"


def _kick_now(queue_name: str, path: str) -> None:
    if not settings.REDIS_URL:
        run_kicked(path)
        return
    import django_rq
    from redis.exceptions import RedisError

    client, key = redis_for(queue_name), _kick_key(queue_name, path)
    try:
        # One round trip when a kick already waits: its run starts by clearing the mark, then
        # looks for work, so it sees whatever committed before this call.
        if not client.set(key, "1", nx=True, ex=KICK_WAITING_SECONDS):
            return
        django_rq.get_queue(queue_name, connection=client).enqueue(
            run_kicked,
            path,
            queue_name,
            result_ttl=0,
            failure_ttl=24 * 3600,
            description=f"kick {path}",
        )
    except RedisError as exc:
        log.warning("kick of %s not handed to RQ, the sweeper will find the work: %s", path, exc)
        with contextlib.suppress(RedisError):
            client.delete(key)  # so that the next kick tries again


def run_kicked(path: str, queue_name: str | None = None) -> Any:
    """The RQ job of a kick: clears its mark first (a kick after this point queues a run of its
    own), then runs the function."""
    if queue_name is not None and settings.REDIS_URL:
        from redis.exceptions import RedisError

        try:
            redis_for(queue_name).delete(_kick_key(queue_name, path))
        except RedisError as exc:  # the mark expires; the sweeper's hook covers the gap
            log.warning("kick mark of %s not cleared: %s", path, exc)
    return resolve(path)()


def dispatch(job_id: int) -> None:
    """Hand a committed job to RQ, or run it here when there is no Redis (the demo)."""
    if not settings.REDIS_URL:
        run_inline(job_id)
        return
    job = Job.objects.filter(pk=job_id).first()
    if job is not None:
        push(job)


_clients: dict[str, Any] = {}


def redis_for(queue_name: str):
    """A Redis client for handing jobs over: it gives up after REDIS_TIMEOUT_SECONDS, so a
    Redis that hangs (not down, just silent) delays a web request by seconds, never more."""
    import redis
    from django_rq.settings import QUEUES

    url = QUEUES[queue_name]["URL"]
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS)
    return _clients[url]


def push(job: Job) -> bool:
    """Enqueue the row on RQ under its deterministic id. False (and a log line) if Redis is unavailable."""
    import django_rq
    from redis.exceptions import RedisError

    try:
        django_rq.get_queue(job.queue, connection=redis_for(job.queue)).enqueue(
            run,
            job.pk,
            job_id=job.rq_id,
            job_timeout=job.timeout + RQ_GRACE_SECONDS,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            description=job.key,
        )
    except RedisError as exc:
        log.warning("job %s (%s) not handed to RQ, the sweeper will: %s", job.pk, job.key, exc)
        return False
    return True


# --- running -------------------------------------------------------------------------


@contextlib.contextmanager
def _advisory_lock(key: tuple[int, int]) -> Iterator[bool]:
    """Try to take a PostgreSQL session-level advisory lock on this thread's connection.

    Yields whether it was taken, and releases it on leaving. The lock lives as long as
    the connection: if the process dies, PostgreSQL drops both, which is how the
    sweeper knows a runner is gone. Elsewhere (SQLite, one process per database) it
    always yields True.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", list(key))
        mine = bool(cursor.fetchone()[0])
    try:
        yield mine
    finally:
        if mine:  # explicitly: a pooled connection outlives this use of it
            with contextlib.suppress(Exception), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", list(key))


def _job_lock(job_id: int) -> tuple[int, int]:
    return (LOCK_NAMESPACE, job_id % 2**31)


def _exclusive(job_id: int):
    """Hold the job's advisory lock for as long as this process runs it."""
    return _advisory_lock(_job_lock(job_id))


def run(job_id: int, *, inline: bool = False) -> str:
    """The RQ job: run one attempt of the row, exclusively. Returns what happened, in a word."""
    with _exclusive(job_id) as mine:
        if not mine:
            return "busy"  # another process is running it right now
        job = Job.objects.filter(pk=job_id).first()
        if job is None or job.state not in Job.OPEN_STATES:
            return "nothing to do"
        now = timezone.now()
        if job.state == Job.State.PENDING and job.next_attempt_at > now + timedelta(seconds=1) and not inline:
            return "not due"  # the sweeper enqueues it when it is
        try:
            func = resolve(job.func)
        except UnknownJob as exc:
            _finish(job, state=Job.State.FAILED, error=str(exc))
            return "failed"
        if job.attempts >= job.max_attempts:  # its last attempt died with its process
            _give_up(job, func, error=job.last_error or "the process running it stopped")
            return "failed"
        attempt = job.attempts + 1
        Job.objects.filter(pk=job.pk).update(
            state=Job.State.RUNNING, attempts=attempt, started_at=now, worker=_process_name
        )
        final = attempt >= job.max_attempts
        try:
            func(*job.args, final_attempt=final)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if final:
                log.error("job %s (%s) failed for good after %d attempt(s): %s", job.pk, job.key, attempt, error)
                _finish(job, state=Job.State.FAILED, error=error)
                return "failed"
            intervals = job.retry_intervals or [0]
            delay = 0 if inline else intervals[min(attempt - 1, len(intervals) - 1)]  # in process: at once
            log.warning("job %s (%s) attempt %d failed, retrying in %d s: %s", job.pk, job.key, attempt, delay, error)
            Job.objects.filter(pk=job.pk).update(
                state=Job.State.PENDING,
                next_attempt_at=timezone.now() + timedelta(seconds=delay),
                last_error=error[:4000],
                worker="",
            )
            return "retry"
        _finish(job, state=Job.State.DONE, error="")
        return "done"


def run_inline(job_id: int) -> None:
    """No Redis (the demo): run the job here, retrying at once until it is done or fails for good."""
    for _ in range(100):
        try:
            outcome = run(job_id, inline=True)
        except Exception:
            log.exception("in-process job %s could not run", job_id)
            return
        if outcome != "retry":
            return


def _finish(job: Job, *, state: str, error: str) -> None:
    Job.objects.filter(pk=job.pk).update(state=state, finished_at=timezone.now(), last_error=error[:4000], worker="")


def _give_up(job: Job, func: Callable[..., Any], *, error: str) -> None:
    log.error("job %s (%s) failed for good: %s", job.pk, job.key, error)
    _finish(job, state=Job.State.FAILED, error=error)
    hook = getattr(func, "on_give_up", None)
    if hook is not None:
        hook(*job.args, error=error)


# --- sweeping ------------------------------------------------------------------------


def _runner_alive(job: Job) -> bool:
    if connection.vendor == "postgresql":
        with _advisory_lock(_job_lock(job.pk)) as free:
            return not free
    started = job.started_at or job.created_at
    return timezone.now() - started < timedelta(seconds=job.timeout + DEAD_AFTER_SECONDS)


def _sweep_lock():
    return _advisory_lock(SWEEP_LOCK)


def _queued_rq_ids(jobs: list[Job]) -> set[str]:
    """The ids among these jobs' RQ ids that RQ holds as queued (waiting for a worker)."""
    from rq.job import Job as RqJob
    from rq.job import JobStatus

    if not jobs:
        return set()
    redis = redis_for(jobs[0].queue)
    found = RqJob.fetch_many([job.rq_id for job in jobs], connection=redis)
    return {
        rq_job.id for rq_job in found if rq_job is not None and rq_job.get_status(refresh=False) == JobStatus.QUEUED
    }


def sweep(*, limit: int = 500) -> Counter:
    """One pass: recover rows whose process died, enqueue due rows that RQ does not hold.

    Safe to run from several processes at once (one sweeps, the others skip) and at
    any time: at worst a row is enqueued twice, and the runner runs it once.
    """
    counts: Counter = Counter()
    with _sweep_lock() as mine:
        if not mine:
            counts["skipped"] += 1
            return counts
        for path in settings.ANNOTATE_SWEEP_HOOKS:  # e.g. clips waiting for Whisper that have no job row
            counts[path.rpartition(".")[2]] += resolve(path)()
        now = timezone.now()
        for job in Job.objects.filter(state=Job.State.RUNNING).order_by("pk")[:limit]:
            if _runner_alive(job):
                continue
            recovered = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(
                state=Job.State.PENDING,
                next_attempt_at=now,
                last_error=f"{job.worker or 'its worker'} stopped while running it (attempt {job.attempts})",
                worker="",
            )
            if recovered:
                log.warning("job %s (%s): %s stopped while running it; enqueueing again", job.pk, job.key, job.worker)
                counts["recovered"] += 1
        if settings.REDIS_URL:
            due = list(Job.objects.filter(state=Job.State.PENDING, next_attempt_at__lte=now).order_by("pk")[:limit])
            by_queue: dict[str, list[Job]] = {}
            for job in due:
                by_queue.setdefault(job.queue, []).append(job)
            for jobs in by_queue.values():
                queued = _queued_rq_ids(jobs)
                for job in jobs:
                    if job.rq_id in queued:
                        continue
                    _forget_rq_job(job)
                    if push(job):
                        counts["enqueued"] += 1
        else:
            for job in Job.objects.filter(state=Job.State.PENDING, next_attempt_at__lte=now).order_by("pk")[:limit]:
                run_inline(job.pk)
                counts["ran"] += 1
        counts["forgotten"] += forget_finished(now=now, limit=limit)
    return counts


def forget_finished(*, now, limit: int = 500) -> int:
    """Delete rows of jobs that finished longer than ANNOTATE_JOB_HISTORY_DAYS ago (failed ones too)."""
    cutoff = now - timedelta(days=settings.ANNOTATE_JOB_HISTORY_DAYS)
    old = list(
        Job.objects.filter(state__in=[Job.State.DONE, Job.State.FAILED], finished_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:limit]
    )
    if not old:
        return 0
    return Job.objects.filter(pk__in=old).delete()[0]


def _forget_rq_job(job: Job) -> None:
    """Drop RQ's stale record of the row's job (finished, failed, or left 'started' by a dead worker)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as RqJob

    with contextlib.suppress(NoSuchJobError):
        RqJob.fetch(job.rq_id, connection=redis_for(job.queue)).delete()
