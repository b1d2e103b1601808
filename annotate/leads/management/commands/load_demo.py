"""Set up the demo: users of every role, a review queue, the demo clips imported and transcribed."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from annotate.accounts import roles
from annotate.accounts import services as account_services
from annotate.clips import batch
from annotate.queues.models import Queue

DEMO_PASSWORD = "annotate-demo"  # noqa: S105 (printed for the demo on purpose)
DEMO_USERS = [
    ("rita", roles.REVIEWER, "reviewer"),
    ("rob", roles.REVIEWER, "second reviewer"),
    ("lena", roles.LEAD, "team lead"),
    ("omar", roles.OFFICER, "escalation officer"),
    ("olga", roles.OFFICER, "second escalation officer"),
    ("admin", roles.ADMIN, "admin"),
]


class Command(BaseCommand):
    help = "Load the demo: users, a queue, and the clips of demo/manifest.jsonl (through the real ingest path)."

    def add_arguments(self, parser):
        parser.add_argument("--manifest", default=str(settings.BASE_DIR / "demo" / "manifest.jsonl"))

    def handle(self, *args, manifest: str, **options):
        User = get_user_model()
        users = {}
        for username, role, _ in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.email = f"{username}@annotate.example"
                user.set_password(DEMO_PASSWORD)
                user.save()
            # Past the two-admin grant, as setup (audited as role.setup_grant): there is no admin yet.
            account_services.assign_role_for_setup(user=user, role=role, by="load_demo")
            users[username] = user
        queue, _ = Queue.objects.get_or_create(
            name="Music and everyday requests (en)",
            defaults={
                "locales": ["en-US", "en-GB"],
                "sample_rate": 1.0,
                "guidelines": "Write what you hear, not what you expect. Numbers as words.",
            },
        )
        queue.members.add(users["rita"], users["rob"])

        call_command("import_catalog", str(settings.BASE_DIR / "demo" / "catalog.jsonl"), stdout=self.stdout)
        summary = batch.Summary(list(batch.iter_manifest(Path(manifest))))
        for line in summary.lines:
            if line.outcome.outcome == "rejected":
                self.stderr.write(f"{line.where}: {line.outcome.message}")
        self.stdout.write(f"demo clips: {summary.text()}")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, _, what in DEMO_USERS:
            self.stdout.write(f"  {username:<6} {what}")
        self.stdout.write(
            "The lead, the officers and the admin set up an authenticator app (TOTP) at their first"
            " sign-in: the page shows a QR code and the key to type; keep the recovery codes it shows."
        )
