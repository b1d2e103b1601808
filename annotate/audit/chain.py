"""The audit log's hash chain: each event carries the hash of the one before it.

An event's hash is SHA-256 over the previous event's hash and the event's canonical JSON (its fields, keys
sorted, no spaces), so removing, changing or reordering a row breaks the link after it. The chain is in id
order; an insert takes a transaction-scoped advisory lock first (PostgreSQL), so concurrent writers queue and
each one reads the head the previous one committed. `manage.py verify_audit` walks it (`first_broken_link`).
This is the shape of AWS CloudTrail's log-file integrity validation: a hash chain, checked by a command.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection

GENESIS = "0" * 64  # the prev_hash of the first event
# One fixed key for pg_advisory_xact_lock: every audit insert takes it, held until its transaction ends.
CHAIN_LOCK = 0x61756469745F6C67  # "audit_lg"


def canonical(
    *,
    at: datetime,
    actor_id: int | None,
    action: str,
    clip_public_id: str,
    target: str,
    ip: str | None,
    details: Any,
) -> str:
    """The event as it is hashed: the stored values, JSON with sorted keys and no spaces."""
    # Round trip the details once, as the JSON column does (tuples become lists, int keys strings).
    details = json.loads(json.dumps(details))
    return json.dumps(
        {
            "action": action,
            "actor": actor_id,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "clip": clip_public_id,
            "details": details,
            "ip": ip,
            "target": target,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def link_hash(prev_hash: str, canonical_json: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical_json}".encode()).hexdigest()


def event_hash(event: Any, prev_hash: str) -> str:
    return link_hash(
        prev_hash,
        canonical(
            at=event.at,
            actor_id=event.actor_id,
            action=event.action,
            clip_public_id=event.clip_public_id,
            target=event.target,
            ip=event.ip,
            details=event.details,
        ),
    )


def lock_head() -> None:
    """Queue behind any other transaction that is appending (PostgreSQL; SQLite writes one at a time anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])


@dataclass(frozen=True)
class BrokenLink:
    event_id: int
    problem: str

    def __str__(self) -> str:
        return f"row {self.event_id}: {self.problem}"


def first_broken_link(events: Iterable[Any]) -> tuple[BrokenLink | None, int, Any]:
    """Walk events in id order. Returns (the first broken link or None, events checked, the last event)."""
    prev_hash, prev_id, checked, last = GENESIS, None, 0, None
    for event in events:
        checked += 1
        if event.prev_hash != prev_hash:
            after = f"row {prev_id}" if prev_id is not None else "the start of the log"
            return (
                BrokenLink(
                    event.id,
                    f"prev_hash {event.prev_hash[:12]}… does not match the hash of {after} ({prev_hash[:12]}…): "
                    "a row before it was deleted, changed or inserted",
                ),
                checked,
                last,
            )
        expected = event_hash(event, prev_hash)
        if event.hash != expected:
            return (
                BrokenLink(
                    event.id,
                    f"hash {event.hash[:12]}… does not match its contents ({expected[:12]}…): the row was changed",
                ),
                checked,
                last,
            )
        prev_hash, prev_id, last = event.hash, event.id, event
    return None, checked, last
