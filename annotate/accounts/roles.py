"""The four roles, as Django groups."""

from __future__ import annotations

REVIEWER = "reviewer"
LEAD = "lead"
OFFICER = "officer"
ADMIN = "admin"
ROLES = (REVIEWER, LEAD, OFFICER, ADMIN)
# Service accounts of the upstream pipeline may call the ingest API.
INGEST = "ingest"


def remember(user, names) -> None:
    """Keep the user's roles (group names) read with the user, for has_role."""
    user._annotate_roles = set(names)


def has_role(user, role: str) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if role == ADMIN and user.is_superuser:
        return True
    cached = getattr(user, "_annotate_roles", None)
    if cached is None:
        remember(user, user.groups.values_list("name", flat=True))
        cached = user._annotate_roles
    return role in cached
