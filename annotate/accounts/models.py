"""Roles are Django groups (reviewer, lead, officer, admin); service accounts use API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


SCOPES = ("ingest", "requests", "results", "exports")  # what a token may do (annotate/api.py)
PIPELINE_SCOPES = ["ingest", "requests"]  # what every token could do before scopes existed


def pipeline_scopes() -> list[str]:
    return list(PIPELINE_SCOPES)


class ApiToken(models.Model):
    """A bearer token of a service account (the upstream pipeline, a results reader). Only its hash
    is kept. Its scopes say what it opens: ingest (clips), requests (opt-outs and erasures),
    results (the results feed), exports (exports and queue backfills)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    scopes = models.JSONField(default=pipeline_scopes, help_text=f"any of {', '.join(SCOPES)}")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, *, user, name: str, scopes: list[str] | None = None) -> tuple[ApiToken, str]:
        unknown = set(scopes or ()) - set(SCOPES)
        if unknown:
            raise ValueError(f"unknown scope(s) {', '.join(sorted(unknown))}; one of: {', '.join(SCOPES)}")
        token = "ann_" + secrets.token_urlsafe(32)
        obj = cls.objects.create(
            user=user,
            name=name,
            token_hash=hash_token(token),
            prefix=token[:10],
            scopes=list(scopes) if scopes is not None else pipeline_scopes(),
        )
        return obj, token


class ReviewerCare(models.Model):
    """A reviewer's protection settings: the daily cap a lead set, their own opt-out, a break.

    Exposure itself is counted from what happened (flags, clips of likely
    distressing queues reviewed or skipped): see annotate/escalation/care.py.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care")
    distressing_daily_cap = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="exposures a day after which likely distressing queues stop serving this reviewer; empty: no cap",
    )
    cap_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cap_set_at = models.DateTimeField(null=True, blank=True)
    opted_out_of_distressing = models.BooleanField(
        default=False, help_text="the reviewer asked not to be served queues marked likely distressing"
    )
    break_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "reviewer care"

    def __str__(self) -> str:
        return f"care of {self.user}"


class RoleGrant(models.Model):
    """A request to give a user a role, and what became of it.

    The officer and admin roles are granted by two admins: one asks (requested_by),
    a different one confirms (confirmed_by) or refuses; the user is put in the role
    only at the confirmation. Other roles are granted by one admin, confirmed at once.
    See annotate/accounts/services.py.
    """

    class State(models.TextChoices):
        PENDING = "pending", "waiting for a second admin"
        CONFIRMED = "confirmed", "confirmed"
        REFUSED = "refused", "refused"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=32)
    reason = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    refused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refused_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role"], condition=models.Q(state="pending"), name="one_pending_grant_per_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role} for {self.user} ({self.get_state_display()})"


class Preferences(models.Model):
    """A person's language and time zone: the pages speak it, and "today" (the daily exposure cap,
    the dashboard's day) is their day (annotate.accounts.locale)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences")
    language = models.CharField(max_length=10, blank=True, help_text="empty: the browser's")
    time_zone = models.CharField(max_length=64, blank=True, help_text="empty: the site's (TIME_ZONE)")

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self) -> str:
        return f"preferences of {self.user}"
