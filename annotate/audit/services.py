from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from annotate.audit.models import AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    *,
    action: str,
    actor: Any = None,
    clip_public_id: str = "",
    target: str = "",
    request: HttpRequest | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        clip_public_id=clip_public_id,
        target=target,
        ip=client_ip(request),
        details=details or {},
    )
