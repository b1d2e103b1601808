"""Bearer-token authentication for service accounts (the upstream pipeline)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from annotate.accounts.models import ApiToken, hash_token


def user_for_bearer(request: HttpRequest, *, scope: str | None = None):
    """The active user behind `Authorization: Bearer <token>`, or None (also when the token lacks `scope`)."""
    found = token_for_bearer(request)
    if found is None or (scope is not None and scope not in found.scopes):
        return None
    return found.user


def token_for_bearer(request: HttpRequest) -> ApiToken | None:
    """The live token of `Authorization: Bearer <token>` (its user active), or None; marks it used."""
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
    return found
