"""Set up the demo: users of every role, a review queue with gold clips, the demo clips imported and transcribed.

The gold clips (demo/gold.jsonl: a clip and its reference text, the words it was made
from) lead demo/manifest.jsonl. They are imported before the queue exists, so that they
are served only as gold, never as a clip of their own; once Whisper has them, lena makes
them the queue's gold. The other clips follow in the order reviewers meet them, with a gold
task after the second and then after every fifth, so that a reviewer meets gold within
the first few clips; afterwards the queue mixes gold into new clips at GOLD_RATIO.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from annotate.accounts import roles
from annotate.accounts import services as account_services
from annotate.clips import batch
from annotate.clips.models import Clip
from annotate.leads import services as lead_services
from annotate.queues import services as queue_services
from annotate.queues.models import GoldClip, Queue

DEMO_PASSWORD = "annotate-demo"  # noqa: S105 (printed for the demo on purpose)
DEMO_USERS = [
    ("rita", roles.REVIEWER, "reviewer"),
    ("rob", roles.REVIEWER, "second reviewer"),
    ("lena", roles.LEAD, "team lead"),
    ("omar", roles.OFFICER, "escalation officer"),
    ("olga", roles.OFFICER, "second escalation officer"),
    ("admin", roles.ADMIN, "admin"),
]
QUEUE_NAME = "Music and everyday requests (en)"
GOLD_FIRST_AFTER = 2  # the first gold task follows the second clip a reviewer meets…
GOLD_EVERY = 5  # …then one follows every fifth clip
GOLD_RATIO = 0.15  # the queue's gold share for clips imported after the demo's
GOLD_WAIT_SECONDS = 300  # with Redis, Whisper runs in the workers: how long to wait for the gold clips


class Command(BaseCommand):
    help = "Load the demo: users, a queue, and the clips of demo/manifest.jsonl (through the real ingest path)."

    def add_arguments(self, parser):
        parser.add_argument("--manifest", default=str(settings.BASE_DIR / "demo" / "manifest.jsonl"))
        parser.add_argument(
            "--gold",
            default=None,
            help="the gold clips and their reference texts (default: gold.jsonl beside the manifest)",
        )
        parser.add_argument(
            "--clips", type=int, default=None, help="import only the first N clips after the gold ones (a quicker demo)"
        )

    def handle(self, *args, manifest: str, gold: str | None, clips: int | None, **options):
        manifest_path = Path(manifest)
        gold_path = Path(gold) if gold else manifest_path.parent / "gold.jsonl"
        references = read_gold(gold_path, manifest_path) if gold_path.exists() else []
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

        call_command("import_catalog", str(settings.BASE_DIR / "demo" / "catalog.jsonl"), stdout=self.stdout)
        lines = batch.iter_manifest(manifest_path)
        done: list[batch.Line] = []
        new_queue = not Queue.objects.filter(name=QUEUE_NAME).exists()
        # The gold clips first, while the queue does not exist yet: they get no task of their own.
        done += [next(lines) for _ in references]
        queue, _ = Queue.objects.get_or_create(
            name=QUEUE_NAME,
            defaults={
                "locales": ["en-US", "en-GB"],
                "sample_rate": 1.0,
                "guidelines": "Write what you hear, not what you expect. Numbers as words.",
            },
        )
        queue.members.add(users["rita"], users["rob"])
        golds = self.add_gold(queue, references, manifest_path.parent, lead=users["lena"])

        imported = 0
        for line in lines if clips is None else itertools.islice(lines, clips):
            done.append(line)
            if line.outcome.outcome == "imported":
                imported += 1
                due = imported == GOLD_FIRST_AFTER or (
                    imported > GOLD_FIRST_AFTER and (imported - GOLD_FIRST_AFTER) % GOLD_EVERY == 0
                )
                if new_queue and golds and due:
                    queue_services.mix_gold(queue=queue, count=1)
        if new_queue and golds:
            lead_services.update_queue(queue=queue, lead=users["lena"], data={"gold_ratio": GOLD_RATIO})

        summary = batch.Summary(done)
        for line in summary.lines:
            if line.outcome.outcome == "rejected":
                self.stderr.write(f"{line.where}: {line.outcome.message}")
        self.stdout.write(f"demo clips: {summary.text()}")
        gold_tasks = queue.tasks.filter(is_gold=True).count()
        self.stdout.write(f"gold: {len(golds)} gold clip(s) in the queue {queue.name!r}, {gold_tasks} gold task(s)")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, _, what in DEMO_USERS:
            self.stdout.write(f"  {username:<6} {what}")
        self.stdout.write(
            "The lead, the officers and the admin set up an authenticator app (TOTP) at their first"
            " sign-in: the page shows a QR code and the key to type; keep the recovery codes it shows."
        )

    def add_gold(self, queue: Queue, references: list[tuple[str, str]], folder: Path, *, lead) -> list[GoldClip]:
        """lena makes the gold clips the queue's gold, once Whisper has transcribed them."""
        clips = {}
        for audio_path, reference in references:
            digest = hashlib.sha256((folder / audio_path).read_bytes()).hexdigest()
            clip = Clip.objects.filter(content_sha256=digest).first()
            if clip is not None:
                clips[clip.pk] = (clip, reference)
        deadline = time.monotonic() + GOLD_WAIT_SECONDS
        waiting = Clip.objects.filter(pk__in=clips).exclude(state__in=[Clip.State.READY, Clip.State.PURGED])
        if waiting.exists():
            self.stdout.write("waiting for Whisper to transcribe the gold clips (start a worker: manage.py worker)")
        while waiting.exists() and time.monotonic() < deadline:
            time.sleep(1)
        golds = []
        for clip, reference in clips.values():
            clip.refresh_from_db()
            existing = GoldClip.objects.filter(queue=queue, clip=clip).first()
            if existing is not None:
                golds.append(existing)
            elif clip.state == Clip.State.READY and clip.audio_name:
                golds.append(lead_services.add_gold(queue=queue, clip=clip, reference_text=reference, lead=lead))
            else:
                self.stderr.write(f"gold clip {clip.public_id} is {clip.state}, not transcribed: left out of the gold")
        return golds


def read_gold(gold_path: Path, manifest_path: Path) -> list[tuple[str, str]]:
    """(audio path, reference text) of each gold clip; they must be the manifest's first lines, in order."""
    references = []
    for raw in gold_path.read_text().splitlines():
        if raw.strip():
            entry = json.loads(raw)
            references.append((entry["audio"], entry["reference_text"]))
    leading = [json.loads(raw)["audio"] for raw in manifest_path.read_text().splitlines()[: len(references)]]
    if leading != [audio for audio, _ in references]:
        raise CommandError(f"the gold clips of {gold_path} must be the first lines of {manifest_path}, in that order")
    return references
