"""Export the entity spans of the exportable clips, one document per clip: JSONL, or spaCy's offsets JSON."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotate.audit import services as audit
from annotate.leads import entity_exports


class Command(BaseCommand):
    help = (
        "Write one document per exportable clip (the clips training exports take: reviewed, final, not "
        "flagged, not accidental, audio held, inside retention, not waiting for adjudication) to OUT: its "
        "final text with the entity spans of the reviewer who wrote that text. --format jsonl (character "
        "offsets, kind, catalog ids) or --format spacy (spaCy's offsets training format, JSON). No audio, "
        "no identity: a clip is named by its public id. The file is written readable by its owner only "
        "and the run is audited; it is outside the product's erasure (docs/privacy.md). See docs/entities.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", help="the file to write ('-' for standard output)")
        parser.add_argument("--format", choices=["jsonl", "spacy"], default="jsonl")
        parser.add_argument("--only-tagged", action="store_true", help="leave out documents without spans")

    def handle(self, *args, out: str, format: str, only_tagged: bool, **options):
        if out != "-" and not Path(out).parent.is_dir():
            raise CommandError(f"{out}: its folder does not exist")
        if out == "-":
            stream = self.stdout
        else:  # owner-only from the first byte (transcripts of people), replacing any earlier file
            stream = os.fdopen(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8")
            os.chmod(out, 0o600)
        try:
            if format == "jsonl":
                summary = entity_exports.write_jsonl(stream, only_tagged=only_tagged)
            else:
                summary = entity_exports.write_spacy(stream, only_tagged=only_tagged)
        finally:
            if out != "-":
                stream.close()
        audit.record(
            action="export.entities",
            target="stdout" if out == "-" else "file",
            details={"format": format, "documents": summary.documents, "spans": summary.spans},
        )
        self.stderr.write(f"export_entities: {summary.text()} → {out}")
