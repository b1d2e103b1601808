"""Retention: old clips lose their audio and transcripts; clips held by a case are kept."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from annotate.clips.models import Clip, MachineTranscript
from annotate.escalation.services import FlagInput, flag_clip
from annotate.queues import claims
from tests.factories import make_clip, make_queue
from tests.support import stored_clip_ids

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("purge_expired", *args, stdout=out)
    return out.getvalue()


def test_old_clips_are_purged_recent_and_held_ones_kept(
    settings, reviewer, private_storage, django_capture_on_commit_callbacks
):
    settings.ANNOTATE_RETENTION_DAYS = 30
    queue = make_queue(reviewer)
    long_ago = timezone.now() - timedelta(days=40)
    old = make_clip("set a timer", captured_at=long_ago)
    held = make_clip("help me please", captured_at=long_ago)
    recent = make_clip("what's the weather", captured_at=timezone.now() - timedelta(days=2))
    claims.claim_next(user=reviewer, queue=queue)  # the old clip, oldest first
    task = claims.claim_next(user=reviewer, queue=queue)
    assert task.clip == held
    flag_clip(user=reviewer, flag=FlagInput(task_id=task.pk, category="danger_now"))

    assert "would purge 1 clip(s)" in run("--dry-run")
    assert Clip.objects.get(pk=old.pk).state == Clip.State.READY

    with django_capture_on_commit_callbacks(execute=True):
        output = run()
    assert "purged 1 clip(s) older than 30 days" in output
    old.refresh_from_db()
    assert old.state == Clip.State.PURGED and old.audio_name == ""
    assert not MachineTranscript.objects.filter(clip=old).exists()
    for kept in (held, recent):
        kept.refresh_from_db()
        assert kept.state == Clip.State.READY and kept.audio_name
    assert stored_clip_ids(private_storage) == {held.public_id, recent.public_id}  # old's versions went too
