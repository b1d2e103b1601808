"""What the lead console keeps: second opinions and exports (quality scores: annotate.quality)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SecondOpinion(models.Model):
    """A reviewer's question about a clip, answered by a lead inside the product."""

    clip = models.ForeignKey("clips.Clip", on_delete=models.CASCADE, related_name="second_opinions")
    task = models.ForeignKey("queues.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    queue = models.ForeignKey("queues.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="questions_asked")
    question = models.CharField(max_length=500)
    moment_seconds = models.FloatField(null=True, blank=True, help_text="where in the clip, if the reviewer said")
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True, help_text="when the reviewer saw the answer")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["answered_at", "created_at"]), models.Index(fields=["asked_by", "created_at"])]

    @property
    def is_open(self) -> bool:
        return self.answered_at is None


class Export(models.Model):
    """A training-data export, built by an RQ job into a zip in private storage."""

    class Format(models.TextChoices):
        JSONL = "jsonl", "JSON lines"
        CSV = "csv", "CSV"
        NEMO = "nemo", "NeMo ASR manifest"
        HF = "hf", "Hugging Face audiofolder"

    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exports")
    format = models.CharField(max_length=8, choices=Format.choices)
    queue = models.ForeignKey("queues.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    clip_count = models.PositiveIntegerField(default=0, help_text="clips in the finished archive")
    file_name = models.CharField(max_length=200, blank=True, help_text="storage name of the zip")
    size_bytes = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.format}, {self.state})"

    @property
    def progress(self) -> float:
        if self.state == self.State.DONE:
            return 1.0
        return self.done / self.total if self.total else 0.0
