"""What reviewers produce: annotations of clips. (Skips belong to the queues: annotate.queues.models.Skip.)"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Annotation(models.Model):
    class Grade(models.TextChoices):
        RIGHT = "right", "right"
        PARTLY = "partly", "partly right"
        WRONG = "wrong", "wrong"
        CANT_TELL = "cant_tell", "can't tell"

    task = models.OneToOneField("queues.Task", on_delete=models.CASCADE, related_name="annotation")
    clip = models.ForeignKey("clips.Clip", on_delete=models.CASCADE, related_name="annotations")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations")
    idempotency_key = models.CharField(max_length=64, unique=True)
    corrected_text = models.TextField(blank=True)
    whisper_text = models.TextField(blank=True, help_text="the Whisper text the reviewer started from")
    whisper_model = models.CharField(max_length=200, blank=True)
    answer_grade = models.CharField(max_length=12, choices=Grade.choices, blank=True)
    intent_correct = models.BooleanField(null=True, blank=True)
    no_speech = models.BooleanField(default=False)
    unintelligible = models.BooleanField(default=False)
    other_language = models.BooleanField(default=False)
    accidental = models.BooleanField(default=False, help_text="no wake word, no request: audio purged, no transcript")
    seconds_spent = models.FloatField(default=0)
    wer = models.FloatField(null=True, blank=True, help_text="Whisper's word error rate against the corrected text")
    cer = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["reviewer", "created_at"])]

    def __str__(self) -> str:
        return f"annotation of {self.clip} by {self.reviewer}"
