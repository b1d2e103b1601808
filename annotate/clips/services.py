"""Writes of the clips app outside ingest: purging audio and transcripts."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from annotate.clips import vault
from annotate.clips.models import Clip

log = logging.getLogger(__name__)


class ClipOnHold(RuntimeError):
    """An escalation case holds the clip (open, or referred within the preservation period)."""


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
    from annotate.escalation.selectors import is_on_hold
    from annotate.queues.claims import lock_clip

    lock_clip(clip.pk)
    if is_on_hold(clip):
        raise ClipOnHold(f"clip {clip.public_id} is held by an escalation case and cannot be purged")
    name = clip.audio_name
    clip.machine_transcripts.all().delete()
    Clip.objects.filter(pk=clip.pk).update(
        audio_name="", heard="", response="", peaks=[], state=Clip.State.PURGED, purged_at=timezone.now()
    )
    clip.audio_name, clip.heard, clip.response, clip.peaks, clip.state = "", "", "", [], Clip.State.PURGED
    transaction.on_commit(lambda: vault.delete_audio(name))
    log.info("purged clip %s (%s)", clip.public_id, reason)
