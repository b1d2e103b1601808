"""One row per piece of background work: what to call, with what, and how it went."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Job(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "waiting to run"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed for good"

    OPEN_STATES = (State.PENDING, State.RUNNING)

    queue = models.CharField(max_length=32, help_text="RQ queue: asr, audio or default")
    func = models.CharField(max_length=200, help_text="dotted path of the job function")
    args = models.JSONField(default=list, help_text="JSON-safe positional arguments")
    key = models.CharField(max_length=200, help_text="what the job is about; at most one open job per key")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=1)
    retry_intervals = models.JSONField(default=list, help_text="seconds to wait before each retry")
    timeout = models.PositiveIntegerField(default=600, help_text="seconds one attempt may take")
    next_attempt_at = models.DateTimeField(help_text="not run before this time")
    last_error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="host and pid running the current attempt")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="job_state_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(state__in=["pending", "running"]), name="one_open_job_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"job {self.pk} {self.key} ({self.state})"

    @property
    def rq_id(self) -> str:
        """The RQ job id: deterministic, so enqueueing a row twice never makes two different jobs."""
        return f"annotate-job-{self.pk}"
