from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotate.clips import batch, ingest


class Command(BaseCommand):
    help = "Import clips from a folder of audio files or a JSONL manifest (see README, 'Manifest format')."

    def add_arguments(self, parser):
        parser.add_argument("path", help="a folder of audio files, or a .jsonl manifest")
        parser.add_argument("--locale", default="en-US", help="for a folder without a manifest (default en-US)")
        parser.add_argument("--device-type", default="unknown", help="for a folder without a manifest")
        parser.add_argument("--quiet-ok", action="store_true", help="print only files that were not imported")

    def handle(self, *args, path: str, locale: str, device_type: str, quiet_ok: bool, **options):
        target = Path(path)
        if target.is_dir():
            lines = batch.iter_folder(target, locale=locale, device_type=device_type)
        elif target.is_file():
            lines = batch.iter_manifest(target)
        else:
            raise CommandError(f"{path}: no such file or folder")
        seen: list[batch.Line] = []
        for line in lines:
            seen.append(line)
            result = line.outcome
            if quiet_ok and result.outcome == ingest.IMPORTED:
                continue
            style = self.style.SUCCESS if result.ok else self.style.ERROR
            self.stdout.write(style(f"{line.where}: {result.outcome.replace('_', ' ')}: {result.message}"))
        summary = batch.Summary(seen)
        self.stdout.write(f"summary: {summary.text()}")
        rejected = summary.counts.get(ingest.REJECTED, 0)
        if rejected:
            raise CommandError(f"{rejected} file(s) rejected; the rest were processed")
