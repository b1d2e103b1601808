"""Clips, their machine transcripts, and the sealed identity of the recorded person.

A clip carries no identifier of the person recorded: the account id, first name
and device serial live only in SealedIdentity, encrypted with the identity key
ring, and the only plain trace is a keyed hash used for opt-out and deletion.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _


def new_public_id() -> str:
    return "c_" + secrets.token_hex(8)


class Clip(models.Model):
    class State(models.TextChoices):
        PENDING_ASR = "pending_asr", "waiting for Whisper"
        TRANSCRIBING = "transcribing", "Whisper running"
        ASR_RETRYING = "asr_retrying", "Whisper failed, will retry"
        ASR_FAILED = "asr_failed", "Whisper failed"
        READY = "ready", "transcribed"
        PURGED = "purged", "audio purged"

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    content_sha256 = models.CharField(max_length=64, unique=True, help_text="hash of the uploaded bytes")
    audio_name = models.CharField(max_length=200, blank=True, help_text="storage name of the encrypted audio")
    audio_key_id = models.CharField(max_length=64, blank=True)
    duration_ms = models.PositiveIntegerField()
    sample_rate = models.PositiveIntegerField(default=16000)
    peaks = models.JSONField(default=list, help_text="waveform peaks, 0..1")
    captured_at = models.DateTimeField(null=True, blank=True)
    locale = models.CharField(max_length=16, blank=True)
    device_type = models.CharField(max_length=32, blank=True)
    heard = models.TextField(blank=True, help_text="what the assistant heard")
    response = models.TextField(blank=True, help_text="what the assistant answered")
    intent = models.CharField(max_length=100, blank=True)
    wake_word_score = models.FloatField(null=True, blank=True)
    source_format = models.CharField(max_length=16, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING_ASR)
    asr_error = models.TextField(blank=True)
    asr_attempts = models.PositiveSmallIntegerField(default=0)
    asr_started_at = models.DateTimeField(
        null=True, blank=True, help_text="when a Whisper worker took the clip (its lease; annotate.clips.asr)"
    )
    asr_holder = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="the clip whose Whisper job holds the lease (itself, or the clip it was packed with)",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state"]), models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return self.public_id

    @property
    def duration_seconds(self) -> float:
        return self.duration_ms / 1000


class MachineTranscript(models.Model):
    """Whisper's transcript of a clip, one per model, so WER is tracked per model."""

    class Decoding(models.TextChoices):
        SINGLE = "single", "alone"
        PACKED = "packed", "packed with other clips"
        FALLBACK = "fallback", "alone, after packed decoding looked wrong"

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="machine_transcripts")
    model_name = models.CharField(max_length=200)
    language = models.CharField(max_length=16, blank=True)
    text = models.TextField(blank=True)
    segments = models.JSONField(default=list, help_text="[{start, end, text}]")
    words = models.JSONField(default=list, help_text="[{word, start, end, probability}]")
    seconds_taken = models.FloatField(default=0)
    decoding = models.CharField(max_length=12, choices=Decoding.choices, default=Decoding.SINGLE)
    window_clips = models.PositiveSmallIntegerField(default=1, help_text="clips in the Whisper window it came from")
    no_speech_prob = models.FloatField(default=0.0, help_text="Whisper's no-speech probability (the gate's input)")
    redacted_text = models.TextField(
        null=True, blank=True, help_text="the text with spoken personal data masked ([PHONE]); null: none found"
    )
    redacted_words = models.JSONField(null=True, blank=True, help_text="the words, masked the same way")
    redacted_heard = models.TextField(
        null=True, blank=True, help_text="what the assistant heard, masked the same way; null: nothing to mask"
    )
    redacted_response = models.TextField(null=True, blank=True, help_text="the assistant's answer, masked")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clip", "model_name"], name="one_transcript_per_model")]

    def __str__(self) -> str:
        return f"{self.clip.public_id} / {self.model_name}"


class SealedIdentity(models.Model):
    """The recorded person's identifiers, encrypted with the identity key ring."""

    clip = models.OneToOneField(Clip, on_delete=models.CASCADE, related_name="sealed_identity")
    account_hash = models.CharField(max_length=64, db_index=True)
    key_id = models.CharField(max_length=64)
    ciphertext = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "sealed identities"

    def __str__(self) -> str:
        return f"sealed identity of {self.clip.public_id}"


class OptOut(models.Model):
    """A subject who opted out: clips whose account hashes here are never stored."""

    account_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"opt-out {self.account_hash[:10]}…"


class IngestCount(models.Model):
    """Ingest outcomes counted by day: imported, duplicate, rejected (by reason) and opted out
    (never stored, only counted)."""

    day = models.DateField()
    outcome = models.CharField(max_length=32)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "outcome"], name="one_count_per_day_outcome")]


class Screening(models.Model):
    """What the Whisper worker decided about a clip before any human heard it (annotate.clips.protect).

    Numbers and labels only: never words of the clip, so leads may see it.
    """

    class Decision(models.TextChoices):
        KEEP = "keep", _("kept")
        PURGE = "purge", _("purged unheard")
        REVIEW = "review", _("a human decides, with protective playback")

    clip = models.OneToOneField(Clip, on_delete=models.CASCADE, related_name="screening")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    reason = models.CharField(max_length=120)
    inputs = models.JSONField(default=dict, help_text="wake word score, no-speech probability, speech share, ...")
    likely_distressing = models.BooleanField(default=False)
    distress = models.JSONField(default=dict, help_text="text score, cue words' kinds, seconds of screaming")
    personal_data = models.JSONField(default=list, help_text="[{type, start, end}] bleeped stretches (seconds)")
    disguise_semitones = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"screening of {self.clip.public_id}: {self.decision}"

    @property
    def protective_first(self) -> bool:
        """Does the reviewer hear it muffled first (a human decides, or it is likely distressing)?"""
        return self.decision == self.Decision.REVIEW or self.likely_distressing


class AudioVariant(models.Model):
    """A processed version of a clip's audio, made by the Whisper worker, encrypted like the original."""

    class Kind(models.TextChoices):
        DISGUISED = "disguised", "voice disguised"
        BLEEPED = "bleeped", "personal data bleeped"
        DISGUISED_BLEEPED = "disguised_bleeped", "voice disguised, personal data bleeped"
        MUFFLED = "muffled", "muffled (protective playback)"

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="audio_variants")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    audio_name = models.CharField(max_length=200)
    audio_key_id = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clip", "kind"], name="one_audio_variant_per_kind")]

    def __str__(self) -> str:
        return f"{self.clip.public_id} ({self.kind})"
