"""Decrypt an evidence package with the key that was shown once: writes the zip."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotate.escalation.evidence import EvidenceKeyError, open_package


class Command(BaseCommand):
    help = "Decrypt an evidence package (FILE) with its KEY into OUT (a zip)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("key")
        parser.add_argument("out")

    def handle(self, *args, file: str, key: str, out: str, **options):
        target = Path(out)
        if target.exists():
            raise CommandError(f"{out} exists: choose a new file name")
        try:
            plain = open_package(Path(file).read_bytes(), key)
        except (OSError, EvidenceKeyError) as exc:
            raise CommandError(str(exc)) from None
        target.write_bytes(plain)
        self.stdout.write(f"wrote {out} ({len(plain)} bytes)")
