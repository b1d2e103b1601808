"""Bearer-token authentication for service accounts (the upstream pipeline)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from annotate.accounts.models import ApiToken, hash_token


def user_for_bearer(request: HttpRequest):
    """The active user behind `Authorization: Bearer <token>`, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    found = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(token.strip()), revoked=False, user__is_active=True)
        .first()
    )
    if found is None:
        return None
    ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
    return found.user
