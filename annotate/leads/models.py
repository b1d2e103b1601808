"""What the lead console keeps: quality scores, final transcripts, second opinions, exports."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FinalTranscript(models.Model):
    """The transcript of a clip that exports use: one reviewer's, the reviewers' consensus,
    a lead's adjudication, or a gold reference."""

    class Source(models.TextChoices):
        SINGLE = "single", "one reviewer"
        CONSENSUS = "consensus", "reviewers agreed"
        ADJUDICATED = "adjudicated", "adjudicated by a lead"
        GOLD = "gold", "gold reference"

    clip = models.OneToOneField("clips.Clip", on_delete=models.CASCADE, related_name="final_transcript")
    text = models.TextField()
    source = models.CharField(max_length=12, choices=Source.choices)
    annotation = models.ForeignKey(
        "review.Annotation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"final transcript of {self.clip_id} ({self.source})"


class WhisperScore(models.Model):
    """Whisper's errors against the final transcript, per clip and model (WER per model)."""

    clip = models.ForeignKey("clips.Clip", on_delete=models.CASCADE, related_name="whisper_scores")
    model_name = models.CharField(max_length=200)
    errors = models.PositiveIntegerField(help_text="substitutions + deletions + insertions")
    words = models.PositiveIntegerField(help_text="words in the final transcript")
    wer = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clip", "model_name"], name="one_whisper_score_per_model")]


class GoldScore(models.Model):
    """A reviewer's annotation of a gold clip, scored against the reference."""

    annotation = models.OneToOneField("review.Annotation", on_delete=models.CASCADE, related_name="gold_score")
    gold = models.ForeignKey("queues.GoldClip", null=True, on_delete=models.SET_NULL, related_name="scores")
    queue = models.ForeignKey("queues.Queue", on_delete=models.CASCADE, related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gold_scores")
    wer = models.FloatField()
    accuracy = models.FloatField(help_text="1 - WER, at least 0")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["reviewer", "created_at"])]


class ClipAgreement(models.Model):
    """How far the k reviewers of a clip (overlap) agree with each other."""

    queue = models.ForeignKey("queues.Queue", on_delete=models.CASCADE, related_name="agreements")
    clip = models.ForeignKey("clips.Clip", on_delete=models.CASCADE, related_name="agreements")
    reviewers = models.PositiveSmallIntegerField()
    mean_wer = models.FloatField(help_text="mean WER between pairs of reviewers' transcripts")
    agreement = models.FloatField(help_text="1 - mean pairwise WER, at least 0")
    entity_agreement = models.FloatField(null=True, blank=True, help_text="mean Jaccard of entity spans")
    needs_adjudication = models.BooleanField(default=False)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "clip"], name="one_agreement_per_queue_clip")]
        indexes = [models.Index(fields=["needs_adjudication", "resolved_at"])]


class AgreementScore(models.Model):
    """One reviewer's agreement with the other reviewers of the same clip."""

    annotation = models.OneToOneField("review.Annotation", on_delete=models.CASCADE, related_name="agreement_score")
    clip_agreement = models.ForeignKey(ClipAgreement, on_delete=models.CASCADE, related_name="scores")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agreement_scores")
    wer = models.FloatField(help_text="mean WER against the other reviewers")
    agreement = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)


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
