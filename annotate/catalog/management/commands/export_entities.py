"""Export the entity spans of reviewed transcripts: JSONL, or spaCy's training data (offsets JSON)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotate.catalog import exports


class Command(BaseCommand):
    help = (
        "Write the reviewed transcripts with their entity spans to OUT: --format jsonl (text, character "
        "offsets, kind, catalog ids) or --format spacy (spaCy's offsets training format, JSON). Only "
        "reviewed clips; no audio, no identity. See docs/entities.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", help="the file to write ('-' for standard output)")
        parser.add_argument("--format", choices=["jsonl", "spacy"], default="jsonl")
        parser.add_argument("--only-tagged", action="store_true", help="leave out transcripts without spans")

    def handle(self, *args, out: str, format: str, only_tagged: bool, **options):
        if out != "-" and not Path(out).parent.is_dir():
            raise CommandError(f"{out}: its folder does not exist")
        stream = self.stdout if out == "-" else Path(out).open("w", encoding="utf-8")
        try:
            if format == "jsonl":
                summary = exports.write_jsonl(stream, only_tagged=only_tagged)
            else:
                summary = exports.write_spacy(stream, only_tagged=only_tagged)
        finally:
            if out != "-":
                stream.close()
        self.stderr.write(f"export_entities: {summary.text()} → {out}")
