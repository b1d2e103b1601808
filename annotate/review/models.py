"""What reviewers produce: annotations of clips. (Skips belong to the queues: annotate.queues.models.Skip.)"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# A clip counts as heard in full from this share played (the last words' tail may go unplayed).
HEARD_IN_FULL = 0.95


class Annotation(models.Model):
    class Grade(models.TextChoices):
        RIGHT = "right", _("right")
        PARTLY = "partly", _("partly right")
        WRONG = "wrong", _("wrong")
        CANT_TELL = "cant_tell", _("can't tell")

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
    # What the page reported of the listening (null: not reported, e.g. an API client).
    listened_fraction = models.FloatField(null=True, blank=True, help_text="share of the clip played, 0..1")
    playback_rate = models.FloatField(null=True, blank=True, help_text="mean playback speed while playing")
    unchanged = models.BooleanField(default=False, help_text="Whisper's text submitted unchanged")
    confirmed_unheard = models.BooleanField(
        default=False, help_text="the reviewer confirmed submitting Whisper's text without hearing the whole clip"
    )
    amended_at = models.DateTimeField(null=True, blank=True, help_text="replaced the reviewer's earlier version")
    wer = models.FloatField(null=True, blank=True, help_text="Whisper's word error rate against the corrected text")
    cer = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The outbox: null until the quality figures, the final transcript and the dashboard have
    # followed the annotation (annotate.quality.services.derive_pending, after the submit).
    derived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["reviewer", "created_at"]),
            models.Index(fields=["id"], condition=models.Q(derived_at__isnull=True), name="annotation_underived_idx"),
        ]

    def __str__(self) -> str:
        return f"annotation of {self.clip} by {self.reviewer}"

    @property
    def heard_in_full(self) -> bool:
        """The reviewer played (nearly) all of the clip: their text is a human's hearing of it."""
        return self.listened_fraction is not None and self.listened_fraction >= HEARD_IN_FULL
