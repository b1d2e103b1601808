"""Writes of the clips app outside ingest: purging audio and transcripts."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from annotate import wiring
from annotate.clips import vault
from annotate.clips.models import Clip

log = logging.getLogger(__name__)


class ClipOnHold(RuntimeError):
    """An escalation case holds the clip (open, or referred within the preservation period)."""


def lock_clip(clip_id: int) -> None:
    """Lock order, step 1 (annotate.queues.claims): the clip's row, FOR NO KEY UPDATE.

    A no-op when this transaction holds it already; SQLite has one writer anyway.
    """
    list(Clip.objects.select_for_update(no_key=True).filter(pk=clip_id).values_list("pk", flat=True))


@transaction.atomic
def purge_clip(*, clip: Clip, reason: str) -> None:
    """Delete the clip's audio and every transcript of it; keep only the bare record.

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
    name = clip.audio_name
    clip.machine_transcripts.all().delete()
    Clip.objects.filter(pk=clip.pk).update(
        audio_name="", heard="", response="", peaks=[], state=Clip.State.PURGED, purged_at=timezone.now()
    )
    clip.audio_name, clip.heard, clip.response, clip.peaks, clip.state = "", "", "", [], Clip.State.PURGED
    transaction.on_commit(lambda: vault.delete_audio(name))
    log.info("purged clip %s (%s)", clip.public_id, reason)
