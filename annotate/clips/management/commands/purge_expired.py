"""Retention: purge the audio and transcripts of clips older than ANNOTATE_RETENTION_DAYS.

Clips held by an escalation case (open, or referred within the preservation
period) are kept, whatever their age. Run it daily (cron or a scheduler).
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from annotate import wiring
from annotate.clips.models import Clip
from annotate.clips.services import ClipOnHold, purge_clip


class Command(BaseCommand):
    help = "Purge audio and transcripts of clips past the retention period (held clips are kept)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count only")

    def handle(self, *args, dry_run: bool, **options):
        cutoff = timezone.now() - timedelta(days=settings.ANNOTATE_RETENTION_DAYS)
        expired = (
            Clip.objects.exclude(state=Clip.State.PURGED)
            .filter(Q(captured_at__lt=cutoff) | Q(captured_at__isnull=True, created_at__lt=cutoff))
            .exclude(pk__in=wiring.call("held_clip_ids"))
        )
        purged = kept = 0
        for clip in expired.iterator():
            if dry_run:
                purged += 1
                continue
            try:
                purge_clip(clip=clip, reason="retention")
                purged += 1
            except ClipOnHold:  # a case opened meanwhile
                kept += 1
        verb = "would purge" if dry_run else "purged"
        self.stdout.write(f"{verb} {purged} clip(s) older than {settings.ANNOTATE_RETENTION_DAYS} days; {kept} on hold")
