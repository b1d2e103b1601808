"""What quality keeps: final transcripts, Whisper's scores, gold scores, overlap agreement.

The tables keep the names they had in the leads app (state-only migrations).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class FinalTranscript(models.Model):
    """The transcript of a clip that exports use: one reviewer's, the reviewers' consensus,
    a lead's adjudication, or a gold reference."""

    class Source(models.TextChoices):
        SINGLE = "single", _("one reviewer")
        CONSENSUS = "consensus", _("reviewers agreed")
        ADJUDICATED = "adjudicated", _("adjudicated by a lead")
        GOLD = "gold", _("gold reference")
        IMPORTED = "imported", _("imported (Label Studio)")

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

    class Meta:
        db_table = "leads_finaltranscript"  # kept from when it lived in the leads app

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
        db_table = "leads_whisperscore"  # kept from when it lived in the leads app
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
        db_table = "leads_goldscore"  # kept from when it lived in the leads app
        indexes = [models.Index(fields=["reviewer", "created_at"], name="leads_golds_reviewe_d65e15_idx")]


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
        db_table = "leads_clipagreement"  # kept from when it lived in the leads app
        constraints = [models.UniqueConstraint(fields=["queue", "clip"], name="one_agreement_per_queue_clip")]
        indexes = [models.Index(fields=["needs_adjudication", "resolved_at"], name="leads_clipa_needs_a_0227ec_idx")]


class AgreementScore(models.Model):
    """One reviewer's agreement with the other reviewers of the same clip."""

    annotation = models.OneToOneField("review.Annotation", on_delete=models.CASCADE, related_name="agreement_score")
    clip_agreement = models.ForeignKey(ClipAgreement, on_delete=models.CASCADE, related_name="scores")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agreement_scores")
    wer = models.FloatField(help_text="mean WER against the other reviewers")
    agreement = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "leads_agreementscore"  # kept from when it lived in the leads app
