"""Writes of the clips app outside ingest: purging audio and transcripts."""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.utils import timezone

from annotate import wiring
from annotate.clips import vault
from annotate.clips.models import AudioVariant, Clip

log = logging.getLogger(__name__)


ACCOUNT_LOCK_NAMESPACE = 0x616363  # "acc": first half of the advisory lock key of an account


class ClipOnHold(RuntimeError):
    """An escalation case holds the clip (open, or referred within the preservation period)."""


def lock_clip(clip_id: int) -> None:
    """Lock order, step 1 (annotate.queues.claims): the clip's row, FOR NO KEY UPDATE.

    A no-op when this transaction holds it already; SQLite has one writer anyway.
    """
    list(Clip.objects.select_for_update(no_key=True).filter(pk=clip_id).values_list("pk", flat=True))


def lock_account(account_hash: str) -> None:
    """Serialise ingest and erasure of one account until this transaction ends.

    A transaction-level advisory lock on PostgreSQL, keyed by the account's hash:
    an erasure that records the opt-out and then lists the account's clips can
    not miss a clip whose ingest checked the opt-out a moment before. SQLite has
    one writer anyway.
    """
    if connection.vendor != "postgresql" or not account_hash:
        return
    key = int(account_hash[:8], 16) - (1 << 31)  # a signed 32-bit half
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ACCOUNT_LOCK_NAMESPACE, key])


@transaction.atomic
def purge_clip(*, clip: Clip, reason: str) -> None:
    """Delete the clip's audio, every transcript of it and all that was derived from it; keep the bare record.

    What other apps derived (reviewers' texts, spans, final texts, gold uses,
    second opinions, export rows) goes through the wired `clip_purged`
    (annotate.privacy.services.purge_derived); numbers that identify no one
    (time spent, WER, agreement) stay for the quality reports.

    The file goes once the transaction commits, so a rollback never leaves a
    record pointing at deleted audio. A clip on hold (annotate.escalation) is
    never purged: ClipOnHold is raised and nothing changes.

    The clip's row is locked first (the lock order of annotate.queues.claims),
    so a flag of the clip in flight either commits its case before the check
    below, or waits until the purge is done.
    """
    lock_clip(clip.pk)
    if wiring.call("clip_on_hold", clip=clip):
        raise ClipOnHold(f"clip {clip.public_id} is held by an escalation case and cannot be purged")
    names = [clip.audio_name, *AudioVariant.objects.filter(clip=clip).values_list("audio_name", flat=True)]
    AudioVariant.objects.filter(clip=clip).delete()
    clip.machine_transcripts.all().delete()
    wiring.call("clip_purged", clip=clip, reason=reason)  # what others derived from it: texts, spans, exports
    Clip.objects.filter(pk=clip.pk).update(
        audio_name="", heard="", response="", peaks=[], state=Clip.State.PURGED, purged_at=timezone.now()
    )
    clip.audio_name, clip.heard, clip.response, clip.peaks, clip.state = "", "", "", [], Clip.State.PURGED
    vault.delete_after_commit(*names)
    log.info("purged clip %s (%s)", clip.public_id, reason)
