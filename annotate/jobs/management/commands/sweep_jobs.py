from django.core.management.base import BaseCommand

from annotate.jobs import services


class Command(BaseCommand):
    help = (
        "One sweeper pass: jobs whose worker died go back to pending, due jobs that RQ does not hold are "
        "enqueued again (every `manage.py worker` already does this every ANNOTATE_SWEEP_SECONDS)."
    )

    def handle(self, *args, **options):
        counts = services.sweep()
        if counts.get("skipped"):
            self.stdout.write("another process is sweeping right now; nothing done")
            return
        summary = ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "nothing to do"
        self.stdout.write(summary)
