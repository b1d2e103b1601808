"""Review queues, their sampling rules, and the tasks reviewers claim."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Queue(models.Model):
    class Kind(models.TextChoices):
        ALL_IN_ONE = "all", _("transcribe, tag and grade")
        TRANSCRIBE = "transcribe", _("transcribe from scratch")
        VERIFY = "verify", _("verify Whisper")
        ENTITIES = "entities", _("entities")
        GRADE = "grade", _("grade the answer")

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ALL_IN_ONE)
    priority = models.IntegerField(default=0, help_text="higher is served first")
    sample_rate = models.FloatField(default=1.0, help_text="share of matching new clips sampled, 0..1")
    locales = models.JSONField(default=list, blank=True, help_text='e.g. ["en-US"]; empty matches all')
    device_types = models.JSONField(default=list, blank=True, help_text='e.g. ["speaker"]; empty matches all')
    lease_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="empty: the site default")
    guidelines = models.TextField(blank=True, help_text="Markdown, shown to reviewers")
    likely_distressing = models.BooleanField(default=False)
    disguise_voice = models.BooleanField(
        default=True, help_text="reviewers hear the voice disguised (pitch and formants moved)"
    )
    redact_personal_data = models.BooleanField(
        default=False, help_text="spoken personal data bleeped in the audio and masked ([PHONE]) in Whisper's text"
    )
    archived = models.BooleanField(default=False)
    gold_ratio = models.FloatField(default=0.0, help_text="share of served tasks that are gold clips, 0..0.5")
    overlap = models.PositiveSmallIntegerField(default=1, help_text="reviewers per clip (k), 1..5")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="review_queues", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-priority", "name"]

    def __str__(self) -> str:
        return self.name

    def matches(self, *, locale: str, device_type: str) -> bool:
        return (not self.locales or locale in self.locales) and (
            not self.device_types or device_type in self.device_types
        )


class Task(models.Model):
    """One clip to review in one queue. Claimed by one reviewer at a time, under a lease."""

    class State(models.TextChoices):
        OPEN = "open", "open"
        CLAIMED = "claimed", "claimed"
        DONE = "done", "done"
        WITHDRAWN = "withdrawn", "withdrawn"

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="tasks")
    clip = models.ForeignKey("clips.Clip", on_delete=models.CASCADE, related_name="tasks")
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="claimed_tasks"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    # Overlap: a clip gets `queue.overlap` tasks (slots 0..k-1), each for a different reviewer.
    slot = models.PositiveSmallIntegerField(default=0)
    # A gold clip mixed in (scored against its reference); never shown to the reviewer.
    is_gold = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "clip", "slot"], name="one_task_per_queue_clip_slot")]
        indexes = [
            # In claim order (created_at, then id): the claim reads the first free row, with no sort.
            models.Index(fields=["queue", "state", "created_at", "id"], name="task_claim_idx"),
            models.Index(fields=["claimed_by", "state"], name="task_holder_idx"),
            # The live dashboard's throughput: tasks done in the last hours.
            models.Index(fields=["done_at"], name="task_done_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.queue} / {self.clip}"


class GoldClip(models.Model):
    """A clip with a reference transcript, mixed into a queue at its gold ratio."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="gold_clips")
    clip = models.ForeignKey("clips.Clip", on_delete=models.CASCADE, related_name="gold_references")
    reference_text = models.TextField()
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "clip"], name="one_gold_per_queue_clip")]

    def __str__(self) -> str:
        return f"gold {self.clip} in {self.queue}"


class Skip(models.Model):
    """A reviewer gave a clip back to the queue, with a reason."""

    class Reason(models.TextChoices):
        AUDIO_PROBLEM = "audio", _("audio does not play or is broken")
        LANGUAGE = "language", _("a language I don't review")
        UNSURE = "unsure", _("not sure, leave it to someone else")
        OTHER = "other", _("other")

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="skips")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skips")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "review_skip"  # the table it had when skips lived in the review app
        indexes = [models.Index(fields=["reviewer", "task"], name="review_skip_reviewe_e95f08_idx")]


class Backfill(models.Model):
    """A queue taking clips ingested before it existed (or before its rule changed): those of the last
    `days` days that match its rule, at its sampling rate, at most `cap`, never one it had already.
    Run by a job on the `default` worker (annotate.queues.services.run_backfill), progress recorded here."""

    class State(models.TextChoices):
        QUEUED = "queued", _("waiting for a worker")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="backfills")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    days = models.PositiveSmallIntegerField()
    cap = models.PositiveIntegerField()
    sample_rate = models.FloatField()
    matching = models.PositiveIntegerField(default=0, help_text="clips matching the rule when it was asked for")
    considered = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0, help_text="clips given tasks in the queue")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"backfill {self.pk} of {self.queue}"
