"""Re-notify officers of overdue cases: run every minute (cron, a systemd timer), or with --every."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from annotate.escalation import services


class Command(BaseCommand):
    help = "Tell officers (console and e-mail) about open cases past their deadline."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, default=0, help="keep running, checking every N seconds")
        parser.add_argument("--times", type=int, default=0, help="with --every: stop after N checks (0: never)")

    def handle(self, *args, every: int, times: int, **options):
        checks = 0
        while True:
            notified = services.notify_overdue()
            checks += 1
            if notified or options["verbosity"] > 1:
                self.stdout.write(f"overdue cases notified: {len(notified)} {notified if notified else ''}".rstrip())
            if every <= 0 or (times and checks >= times):
                return
            time.sleep(every)
