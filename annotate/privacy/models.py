"""Requests of the recorded people, sent by the upstream pipeline: opt-out and erasure.

A request names an account only by its keyed hash (clips.crypto.lookup_hash):
the account id itself is never stored. Its receipt says what was erased and
what waits, and why: a clip held by an escalation case is kept until the hold
ends (DeferredClip), then erased without anyone asking again.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

# What a receipt counts, in the order it lists them.
ERASED_KEYS = (
    "clips",
    "audio_files",
    "waveform_peaks",
    "machine_transcripts",
    "reviewer_transcripts",
    "grades",
    "entity_spans",
    "final_transcripts",
    "gold_uses",
    "second_opinions",
    "sealed_identities",
    "tasks",
    "export_rows",
    "exports_changed",
    "closed_cases",
)


def new_request_id() -> str:
    return "pr_" + secrets.token_hex(8)


class PrivacyRequest(models.Model):
    class Kind(models.TextChoices):
        OPT_OUT = "opt_out", "opt-out"
        ERASURE = "erasure", "erasure"

    class State(models.TextChoices):
        DONE = "done", "done"
        DEFERRED = "deferred", "partly waiting for a hold to end"

    class Source(models.TextChoices):
        API = "api", "token API"
        COMMAND = "command", "management command"
        INGEST = "ingest", "an upload marked opted out"

    public_id = models.CharField(max_length=32, unique=True, default=new_request_id, editable=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    account_hash = models.CharField(max_length=64, help_text="keyed hash of the account id; never the id")
    state = models.CharField(max_length=8, choices=State.choices, default=State.DONE)
    source = models.CharField(max_length=8, choices=Source.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    erased = models.JSONField(default=dict, help_text="counts of what was erased, by kind of record")
    received_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True, help_text="when nothing was left to erase")

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "account_hash"], name="one_request_per_kind_account")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.public_id} ({self.state})"


class DeferredClip(models.Model):
    """A clip of a request's account that an escalation case holds: erased when the hold ends."""

    request = models.ForeignKey(PrivacyRequest, on_delete=models.CASCADE, related_name="deferred")
    clip = models.ForeignKey("clips.Clip", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    clip_public_id = models.CharField(max_length=32)
    held_until = models.DateTimeField(null=True, blank=True, help_text="empty: until its open case is closed")
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["request", "clip_public_id"], name="one_deferral_per_clip")]
        indexes = [models.Index(fields=["erased_at"], name="deferred_pending_idx")]

    def __str__(self) -> str:
        return f"{self.clip_public_id} deferred for {self.request.public_id}"
