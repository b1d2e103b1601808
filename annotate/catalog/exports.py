"""Entity annotations as training data: JSONL with catalog ids, and spaCy's offsets format.

JSONL, one reviewed transcript a line:
    {"id": "annotation-12", "text": "...", "locale": "en-US",
     "spans": [{"start", "end", "text", "kind", "entity": {"id", "name", "external_ids"} | null,
                "not_in_catalog_name", "needs_recheck", "source"}]}

spaCy: one JSON array of [text, {"entities": [[start, end, LABEL], ...]}] — the
"offsets" training format of spaCy's docs, which `spacy.training.offsets_to_biluo_tags`
and a few lines of DocBin code turn into a .spacy file (docs/entities.md).
Labels are the kinds' slugs, upper-cased (ARTIST, SONG, ...). A transcript with
a span still waiting for a re-check is left out of the spaCy file (its labels
are not trustworthy) and counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TextIO

from annotate.catalog.selectors import reviewed_documents


@dataclass
class ExportSummary:
    documents: int = 0
    spans: int = 0
    left_out: int = 0

    def text(self) -> str:
        extra = f", {self.left_out} left out (a span needs a re-check)" if self.left_out else ""
        return f"{self.documents} transcripts, {self.spans} spans{extra}"


def write_jsonl(stream: TextIO, *, only_tagged: bool = False) -> ExportSummary:
    summary = ExportSummary()
    for doc in reviewed_documents(only_tagged=only_tagged):
        stream.write(json.dumps(doc, ensure_ascii=False) + "\n")
        summary.documents += 1
        summary.spans += len(doc["spans"])
    return summary


def spacy_examples(*, only_tagged: bool = False) -> tuple[list[list], ExportSummary]:
    summary = ExportSummary()
    examples: list[list] = []
    for doc in reviewed_documents(only_tagged=only_tagged):
        if any(span["needs_recheck"] for span in doc["spans"]):
            summary.left_out += 1
            continue
        entities = [[s["start"], s["end"], s["kind"].upper()] for s in doc["spans"]]
        examples.append([doc["text"], {"entities": entities}])
        summary.documents += 1
        summary.spans += len(entities)
    return examples, summary


def write_spacy(stream: TextIO, *, only_tagged: bool = False) -> ExportSummary:
    examples, summary = spacy_examples(only_tagged=only_tagged)
    stream.write(json.dumps(examples, ensure_ascii=False, indent=1) + "\n")
    return summary
