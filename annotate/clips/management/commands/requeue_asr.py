from django.core.management.base import BaseCommand

from annotate.clips import asr


class Command(BaseCommand):
    help = (
        "Give Whisper another go: clips that failed for good get a fresh job, and clips waiting for Whisper "
        "without a job get one. A clip whose job is still queued or running is not queued twice. "
        "(The workers' sweeper already re-enqueues lost and due jobs by itself.)"
    )

    def add_arguments(self, parser):
        parser.add_argument("--failed-only", action="store_true", help="only clips in state asr_failed")

    def handle(self, *args, failed_only: bool, **options):
        requeued, already = asr.requeue(failed_only=failed_only)
        self.stdout.write(f"requeued {requeued} clip(s); {already} already had a job waiting or running")
