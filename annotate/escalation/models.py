"""Flags raised by reviewers, the cases officers work, and what happens on them.

A reviewer's flag opens a case on the clip (or joins the clip's open case). The
case moves through explicit states, each step with a note, on a clock set by
its severity; every step is a timeline event. Unsealing the recorded person's
identity is a request by one officer that a second officer approves; evidence
exports are encrypted with a key shown once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    DANGER_NOW = "danger_now", _("someone may be in danger now")
    VIOLENCE = "violence", _("violence")
    SEXUAL_ASSAULT = "sexual_assault", _("sexual assault")
    CHILD_AT_RISK = "child_at_risk", _("a child at risk")
    SELF_HARM = "self_harm", _("self-harm")
    OTHER_CRIME = "other_crime", _("other crime")
    DISTRESSING = "distressing", _("distressing but no risk")


class Severity(models.TextChoices):
    CRITICAL = "critical", _("critical")
    HIGH = "high", _("high")
    MEDIUM = "medium", _("medium")
    LOW = "low", _("low")


SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}

# The severity a category suggests (the reviewer may choose another).
DEFAULT_SEVERITY = {
    Category.DANGER_NOW: Severity.CRITICAL,
    Category.VIOLENCE: Severity.HIGH,
    Category.SEXUAL_ASSAULT: Severity.HIGH,
    Category.CHILD_AT_RISK: Severity.HIGH,
    Category.SELF_HARM: Severity.HIGH,
    Category.OTHER_CRIME: Severity.MEDIUM,
    Category.DISTRESSING: Severity.LOW,
}


class Case(models.Model):
    class State(models.TextChoices):
        NEW = "new", _("new")
        ACKNOWLEDGED = "acknowledged", _("acknowledged")
        INVESTIGATING = "investigating", _("investigating")
        REFERRED = "referred", _("referred")
        WELFARE_CONTACT = "welfare_contact", _("welfare contact")
        NO_ACTION = "no_action", _("no action")
        FALSE_ALARM = "false_alarm", _("false alarm")
        CLOSED = "closed", _("closed")

    class ReferredTo(models.TextChoices):
        POLICE = "police", _("police")
        CHILD_PROTECTION = "child_protection", _("child protection")
        EMERGENCY_SERVICES = "emergency_services", _("emergency services")

    clip = models.ForeignKey("clips.Clip", on_delete=models.PROTECT, related_name="cases")
    category = models.CharField(max_length=20, choices=Category.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    severity_rank = models.PositiveSmallIntegerField(help_text="0 = critical; for ordering")
    state = models.CharField(max_length=20, choices=State.choices, default=State.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_cases",
        help_text="the officer who acknowledged it",
    )
    referred_to = models.CharField(max_length=20, choices=ReferredTo.choices, blank=True)
    referral_reference = models.CharField(max_length=100, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    state_changed_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True, help_text="deadline of the current stage")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    referred_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["severity_rank", "due_at", "pk"]
        indexes = [
            models.Index(fields=["state", "severity_rank", "due_at"], name="case_console_idx"),
            models.Index(fields=["clip", "state"], name="case_clip_idx"),
        ]

    def __str__(self) -> str:
        return f"case {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state != Case.State.CLOSED


S = Case.State
# The case's state machine: from each state, the states an officer may move it to (each with a note).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.ACKNOWLEDGED}),
    S.ACKNOWLEDGED: frozenset({S.INVESTIGATING}),
    S.INVESTIGATING: frozenset({S.REFERRED, S.WELFARE_CONTACT, S.NO_ACTION, S.FALSE_ALARM}),
    S.REFERRED: frozenset({S.CLOSED}),
    S.WELFARE_CONTACT: frozenset({S.CLOSED}),
    S.NO_ACTION: frozenset({S.CLOSED}),
    S.FALSE_ALARM: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}


class Flag(models.Model):
    """One reviewer's flag of a clip. The first flag of a clip opens its case."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="flags")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="flags")
    task = models.ForeignKey("queues.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="flags")
    category = models.CharField(max_length=20, choices=Category.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    note = models.TextField(blank=True, help_text="the reviewer's note")
    moment_seconds = models.FloatField(null=True, blank=True, help_text="where in the clip, if given")
    draft = models.JSONField(
        default=dict, blank=True, help_text="the reviewer's annotation so far (text, grade, markers)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["reviewer", "created_at"], name="flag_reviewer_idx")]

    def __str__(self) -> str:
        return f"flag {self.pk} on case {self.case_id}"


class CaseEvent(models.Model):
    """One line of a case's timeline. Officers see all of it; reviewers never see it."""

    class Kind(models.TextChoices):
        FLAGGED = "flagged", _("flagged")
        TRANSITION = "transition", _("state changed")
        SEVERITY = "severity", _("severity raised")
        OVERDUE = "overdue", _("overdue, officers re-notified")
        UNSEAL_REQUESTED = "unseal_requested", _("identity unsealing requested")
        UNSEAL_APPROVED = "unseal_approved", _("identity unsealing approved")
        UNSEAL_REFUSED = "unseal_refused", _("identity unsealing refused")
        IDENTITY_VIEWED = "identity_viewed", _("identity viewed")
        EVIDENCE_EXPORTED = "evidence_exported", _("evidence exported")
        EVIDENCE_DOWNLOADED = "evidence_downloaded", _("evidence downloaded")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    note = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.case} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class UnsealRequest(models.Model):
    """An officer's written request to see the recorded person's identity on a case."""

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for a second officer")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="unseal_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"unseal request {self.pk} on {self.case}"


class EvidenceExport(models.Model):
    """An encrypted evidence package. The key was shown once and is not kept."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="exports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    storage_name = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, help_text="of the encrypted file")
    key_fingerprint = models.CharField(
        max_length=16, help_text="first hex of SHA-256 of the key, to match key and file"
    )
    includes_identity = models.BooleanField(default=False)
    contents = models.JSONField(default=list, help_text="names of the files inside")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"evidence export {self.pk} of {self.case}"
