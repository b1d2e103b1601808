"""Retention, run daily (cron, or docs/deploy/annotate-retention.timer).

- Clips older than ANNOTATE_RETENTION_DAYS are purged: their audio, Whisper's and
  the reviewers' transcripts, spans, final texts, gold uses, second opinions and
  export rows (annotate.privacy.services.purge_derived). Clips held by an
  escalation case (open, or referred within the preservation period) are kept.
- Exports past ANNOTATE_EXPORT_TTL_DAYS are deleted.
- Erasures deferred by a hold that has ended are completed (the workers' sweeper
  does this too, within seconds).
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from annotate import wiring
from annotate.clips.models import Clip
from annotate.clips.services import ClipOnHold, purge_clip
from annotate.leads.exports import delete_expired_exports
from annotate.privacy.services import complete_deferred


class Command(BaseCommand):
    help = "Purge clips past retention and all derived from them (held clips are kept); expire exports."

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
        if dry_run:
            return
        self.stdout.write(f"deleted {delete_expired_exports()} expired export(s)")
        self.stdout.write(f"completed {complete_deferred()} deferred erasure(s) whose hold ended")
