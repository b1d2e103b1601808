"""Reads of privacy requests: the receipt, as the pipeline and the command show it."""

from __future__ import annotations

from typing import Any

from annotate.privacy.models import ERASED_KEYS, DeferredClip, PrivacyRequest

HOLD_REASON = "held for an escalation case (a legal hold): kept until the hold ends, then erased"


def receipt(request: PrivacyRequest) -> dict[str, Any]:
    """What was asked, what was erased (counts by kind of record) and what waits, and why.

    Names no person: the account appears only as the request's id. A deferred clip
    says when its hold ends (null while the case is open: "when the case is closed").
    """
    deferred = list(DeferredClip.objects.filter(request=request).order_by("pk"))
    return {
        "id": request.public_id,
        "kind": request.kind,
        "state": request.state,
        "received_at": request.received_at.isoformat(),
        "completed_at": request.completed_at.isoformat() if request.completed_at else None,
        "erased": {key: (request.erased or {}).get(key, 0) for key in ERASED_KEYS},  # in this order
        "deferred": [_deferral(d) for d in deferred if d.erased_at is None],
        "deferred_then_erased": [
            {"clip": d.clip_public_id, "erased_at": d.erased_at.isoformat()} for d in deferred if d.erased_at
        ],
        "future_clips": "dropped at ingest (counted, never stored)",
        # The account's other request (an erasure after an opt-out finds nothing left: the opt-out took it).
        "other_requests": [
            {"id": other.public_id, "kind": other.kind, "state": other.state}
            for other in PrivacyRequest.objects.filter(account_hash=request.account_hash)
            .exclude(pk=request.pk)
            .order_by("received_at")
        ],
    }


def _deferral(d: DeferredClip) -> dict[str, Any]:
    return {
        "clip": d.clip_public_id,
        "reason": HOLD_REASON,
        "held_until": d.held_until.isoformat() if d.held_until else None,
        "completes": f"on {d.held_until:%Y-%m-%d}" if d.held_until else "when the escalation case is closed",
    }


def find(public_id: str) -> PrivacyRequest | None:
    return PrivacyRequest.objects.filter(public_id=public_id).first()
