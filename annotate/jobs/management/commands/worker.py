from django.core.management.base import BaseCommand, CommandError

from annotate.jobs import worker


class Command(BaseCommand):
    help = (
        "Run a background worker on the named queues (asr, audio, default). Jobs run in this process, so the "
        "Whisper model is loaded once; a sweeper enqueues retries and lost jobs again; a Redis outage is waited out."
    )

    def add_arguments(self, parser):
        parser.add_argument("queues", nargs="+", help="queues to work on, e.g. asr, or default audio")
        parser.add_argument("--burst", action="store_true", help="run what is queued, then stop (no sweeper)")
        parser.add_argument("--no-sweeper", action="store_true", help="do not run the sweeper in this worker")
        parser.add_argument("--name", default="", help="worker name shown in RQ (default: host.pid)")

    def handle(self, *args, queues: list[str], burst: bool, no_sweeper: bool, name: str, **options):
        try:
            worker.serve(queues, burst=burst, sweep=not no_sweeper, name=name)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
