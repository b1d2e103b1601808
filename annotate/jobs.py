"""Enqueueing background jobs, after the transaction commits.

With REDIS_URL set, jobs go to the named RQ queue (with retries and a timeout);
if Redis is down, enqueueing raises rather than quietly running the job in the
web request. With no REDIS_URL (the zero-setup demo) the job runs in this
process once the transaction commits, with the same retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)


def enqueue_after_commit(
    queue_name: str,
    func: Callable[..., Any],
    *args: Any,
    retries: int = 0,
    retry_intervals: list[int] | None = None,
    timeout: int = 600,
) -> None:
    transaction.on_commit(
        lambda: enqueue_now(queue_name, func, *args, retries=retries, retry_intervals=retry_intervals, timeout=timeout)
    )


def enqueue_now(
    queue_name: str,
    func: Callable[..., Any],
    *args: Any,
    retries: int = 0,
    retry_intervals: list[int] | None = None,
    timeout: int = 600,
) -> None:
    if settings.REDIS_URL:
        import django_rq
        from rq import Retry

        retry = Retry(max=retries, interval=retry_intervals or 0) if retries else None
        django_rq.get_queue(queue_name).enqueue(func, *args, retry=retry, job_timeout=timeout)
        return
    for attempt in range(retries + 1):
        try:
            func(*args, final_attempt=(attempt == retries))
            return
        except Exception:
            log.exception("in-process job %s failed (attempt %d of %d)", func.__name__, attempt + 1, retries + 1)
