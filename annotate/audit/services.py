from __future__ import annotations

from typing import Any

from annotate.audit.models import AuditEvent


def record(
    *,
    action: str,
    actor: Any = None,
    clip_public_id: str = "",
    target: str = "",
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the write it records, so both stand or fall together."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        clip_public_id=clip_public_id,
        target=target,
        ip=ip,
        details=details or {},
    )
