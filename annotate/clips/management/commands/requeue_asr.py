from django.core.management.base import BaseCommand

from annotate.clips import asr
from annotate.clips.models import Clip


class Command(BaseCommand):
    help = "Enqueue Whisper again for clips that failed or never got a transcript (e.g. Redis was down at ingest)."

    def add_arguments(self, parser):
        parser.add_argument("--failed-only", action="store_true", help="only clips in state asr_failed")

    def handle(self, *args, failed_only: bool, **options):
        states = [Clip.State.ASR_FAILED] if failed_only else [Clip.State.ASR_FAILED, Clip.State.PENDING_ASR]
        clips = list(Clip.objects.filter(state__in=states).only("pk", "public_id"))
        for clip in clips:
            Clip.objects.filter(pk=clip.pk).update(state=Clip.State.PENDING_ASR, asr_error="")
            asr.enqueue_transcription(clip)
        self.stdout.write(f"requeued {len(clips)} clip(s)")
