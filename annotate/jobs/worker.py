"""The documented worker: `manage.py worker QUEUE [QUEUE ...]`.

- Jobs run in this process, one after another (RQ's SimpleWorker, no fork per
  job), so what a job loads once (the Whisper model) stays loaded for the next.
- A sweeper thread runs `jobs.services.sweep()` every ANNOTATE_SWEEP_SECONDS:
  retries come due and lost or abandoned jobs are enqueued again, with no RQ
  scheduler and no manual step.
- A Redis outage never ends the process: the RQ loop is started again with
  backoff (1 s doubling to 5 s) until Redis answers, and the sweeper keeps going.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections
from rq.worker import SimpleWorker

from annotate.jobs import services

log = logging.getLogger("annotate.worker")

MAX_BACKOFF_SECONDS = 5.0


class Worker(SimpleWorker):
    """RQ's in-process worker, with the database connection checked around every job."""

    def execute_job(self, job, queue):
        close_old_connections()
        try:
            return super().execute_job(job, queue)
        finally:
            close_old_connections()


def _sweeper(stop: threading.Event, every: float) -> None:
    from redis.exceptions import RedisError

    while not stop.is_set():
        try:
            counts = services.sweep()
            if any(v for k, v in counts.items() if k != "skipped"):
                log.info("sweeper: %s", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        except RedisError as exc:
            log.warning("sweeper: Redis unavailable (%s); trying again in %.0f s", exc, every)
        except Exception:
            log.warning("sweeper pass failed; trying again in %.0f s", every, exc_info=True)
        finally:
            connections.close_all()
        stop.wait(every)


def _startup(queue_names: list[str]) -> None:
    """Load what the queues' jobs need once per process (ANNOTATE_WORKER_STARTUP), e.g. the Whisper model."""
    for name in queue_names:
        for path in settings.ANNOTATE_WORKER_STARTUP.get(name, []):
            try:
                services.resolve(path)()
            except Exception:
                log.exception("start-up step %s failed; the jobs will try again", path)
    close_old_connections()


def serve(queue_names: list[str], *, burst: bool = False, sweep: bool = True, name: str = "") -> None:
    import django_rq
    from redis.exceptions import RedisError

    unknown = sorted(set(queue_names) - set(settings.RQ_QUEUE_NAMES))
    if unknown:
        raise ValueError(f"unknown queue(s) {', '.join(unknown)}; the queues are {', '.join(settings.RQ_QUEUE_NAMES)}")
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    _install(on_signal)
    _startup(queue_names)
    sweeper = None
    if sweep and not burst:
        sweeper = threading.Thread(
            target=_sweeper, args=(stop, settings.ANNOTATE_SWEEP_SECONDS), name="sweeper", daemon=True
        )
        sweeper.start()
    base = name or f"{socket.gethostname()}.{os.getpid()}"
    backoff, runs = 1.0, 0
    while not stop.is_set():
        runs += 1
        try:
            redis = django_rq.get_connection(queue_names[0])
            redis.ping()
            worker = Worker(
                [django_rq.get_queue(q) for q in queue_names],
                connection=redis,
                name=f"{base}.{runs}",
                worker_ttl=settings.ANNOTATE_WORKER_TTL,
            )
            backoff = 1.0
            worker.work(burst=burst, logging_level=settings.ANNOTATE_LOG_LEVEL, with_scheduler=False)
            _install(on_signal)  # RQ installed its own handlers for the loop; ours again for the pauses
            # RQ's handler took the SIGTERM: busy, it sets _stop_requested and ends after the job;
            # idle, it only ends the loop (StopRequested), and the date is what tells that from an outage.
            if burst or worker._stop_requested or worker._shutdown_requested_date is not None:
                break
            log.warning("the RQ loop ended (Redis unavailable?); starting it again in %.0f s", backoff)
        except RedisError as exc:
            log.warning("Redis unavailable (%s); trying again in %.0f s", exc, backoff)
        stop.wait(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
    stop.set()
    if sweeper is not None:
        sweeper.join(timeout=5)
    log.info("worker stopped")


def _install(handler: Callable[[int, Any], None]) -> None:
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
