"""Reads about users and their roles."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from annotate.accounts.models import RoleGrant


def role_granted_at(user, role: str) -> datetime | None:
    """When the user's latest two-admin grant of `role` was confirmed (None: never granted that way)."""
    return (
        RoleGrant.objects.filter(user=user, role=role, state=RoleGrant.State.CONFIRMED)
        .order_by("-confirmed_at")
        .values_list("confirmed_at", flat=True)
        .first()
    )


def role_too_new(user, role: str, *, now: datetime | None = None) -> timedelta | None:
    """How much longer the user must hold `role` before ANNOTATE_ROLE_COOLDOWN_HOURS have passed (None: enough)."""
    granted = role_granted_at(user, role)
    if granted is None:
        return None
    left = granted + timedelta(hours=settings.ANNOTATE_ROLE_COOLDOWN_HOURS) - (now or timezone.now())
    return left if left > timedelta(0) else None
