"""Import catalog entities from a JSONL or CSV file (docs/entities.md has the format)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotate.catalog import importer, services


class Command(BaseCommand):
    help = (
        "Create or update catalog entities from a .jsonl or .csv file. Re-importing updates entities by "
        "external id (e.g. musicbrainz), or by kind and name when a row has no id. Bad rows are reported "
        "with their line numbers; the rest are imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .jsonl or .csv catalog file")
        parser.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file name")

    def handle(self, *args, file: str, format: str | None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            report = services.import_catalog(rows=importer.read_file(path, format=format))
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file}: not UTF-8 text ({exc.reason})") from None
        for bad in report.bad:
            self.stderr.write(self.style.ERROR(f"{path.name}:{bad.line}: {bad.message}"))
        self.stdout.write(f"catalog import: {report.text()}")
        if report.bad:
            raise CommandError(f"{len(report.bad)} bad row(s) not imported; the rest were imported")
