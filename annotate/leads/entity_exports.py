"""Entity spans as NER training data, one document per clip: JSONL with catalog ids, and spaCy's offsets format.

Which clips: exactly those the training exports take (selectors.exportable_finals:
reviewed, final, not flagged, not accidental, audio still held, inside retention,
not waiting for adjudication). Which text: the clip's final transcript. Which
spans: those of a reviewer who wrote that very text (spans are offsets into it):

1. the final's own annotation, when its corrected text is the final text (a
   single review, a consensus, a lead who picked a reviewer's text unchanged);
2. else the earliest annotation of the clip whose corrected text is the final
   text, character for character (a lead who kept another reviewer's words, a
   gold reference a reviewer typed exactly);
3. else none: the final text differs from every reviewer's (a lead's edit, a gold
   reference). The JSONL document carries ``"spans": null`` — unknown, which is not
   "no entities" — and is counted; the spaCy file and ``--only-tagged`` leave it
   out, since spaCy would learn "no entity here" from an empty list.

JSONL, one clip a line:
    {"id": "c_…", "text": "...", "locale": "en-US",
     "spans": [{"start", "end", "text", "kind", "entity": {"id", "name", "external_ids"} | null,
                "not_in_catalog_name", "needs_recheck", "source"}] | null}

spaCy: one JSON array of [text, {"entities": [[start, end, LABEL], ...]}] — the
"offsets" training format of spaCy's docs (docs/entities.md turns it into a
.spacy file). Labels are the kinds' slugs, upper-cased (ARTIST, SONG, ...). A
document with a span still waiting for a re-check is left out of the spaCy file
(its labels are not trustworthy) and counted.

Never an identifier of a recorded person or of a reviewer: a clip is named by its
random public id.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from annotate.catalog.models import EntitySpan
from annotate.catalog.selectors import span_json
from annotate.leads import selectors
from annotate.quality.models import FinalTranscript
from annotate.quality.services import usable_text
from annotate.review.models import Annotation

CHUNK = 500
DIFFERS = "the final text differs from every reviewer's"


@dataclass
class ExportSummary:
    documents: int = 0
    spans: int = 0
    recheck_left_out: int = 0
    without_spans: int = 0  # the final text differs from every reviewer's
    without_spans_left_out: bool = False

    def text(self) -> str:
        parts = [f"{self.documents} transcripts, {self.spans} spans"]
        if self.recheck_left_out:
            parts.append(f"{self.recheck_left_out} left out (a span needs a re-check)")
        if self.without_spans and self.without_spans_left_out:
            parts.append(f"{self.without_spans} left out ({DIFFERS})")
        elif self.without_spans:
            parts.append(f"{self.without_spans} without spans (null): {DIFFERS}")
        return ", ".join(parts)


def spans_from(final: FinalTranscript, annotations: Sequence[Annotation]) -> Annotation | None:
    """The annotation whose spans are offsets into the final text (module docstring), or None."""
    fitting = [a for a in annotations if a.corrected_text == final.text and usable_text(a) == final.text]
    fitting.sort(key=lambda a: (a.pk != final.annotation_id, a.created_at, a.pk))
    return fitting[0] if fitting else None


def documents_of(finals: list[FinalTranscript]) -> Iterator[dict[str, Any]]:
    by_clip: dict[int, list[Annotation]] = defaultdict(list)
    for annotation in Annotation.objects.filter(clip_id__in=[f.clip_id for f in finals]).only(
        "pk", "clip_id", "corrected_text", "accidental", "no_speech", "unintelligible", "other_language", "created_at"
    ):
        by_clip[annotation.clip_id].append(annotation)
    chosen = {f.clip_id: spans_from(f, by_clip[f.clip_id]) for f in finals}
    spans: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    for span in (
        EntitySpan.objects.filter(annotation_id__in=[a.pk for a in chosen.values() if a is not None])
        .select_related("kind", "entity")
        .order_by("annotation_id", "start")
    ):
        spans[span.annotation_id].append(span_json(span))
    for final in finals:
        tagged = chosen[final.clip_id]
        yield {
            "id": final.clip.public_id,
            "text": final.text,
            "locale": final.clip.locale,
            "spans": spans[tagged.pk] if tagged is not None else None,
        }


def entity_documents() -> Iterator[dict[str, Any]]:
    """One document per exportable clip, in clip order; 3 queries per CHUNK clips."""
    finals = selectors.exportable_finals().iterator(chunk_size=CHUNK)
    while chunk := list(itertools.islice(finals, CHUNK)):
        yield from documents_of(chunk)


def write_jsonl(stream: TextIO, *, only_tagged: bool = False) -> ExportSummary:
    summary = ExportSummary(without_spans_left_out=only_tagged)
    for doc in entity_documents():
        if doc["spans"] is None:
            summary.without_spans += 1
        if only_tagged and not doc["spans"]:
            continue
        stream.write(json.dumps(doc, ensure_ascii=False) + "\n")
        summary.documents += 1
        summary.spans += len(doc["spans"] or ())
    return summary


def spacy_examples(*, only_tagged: bool = False) -> tuple[list[list], ExportSummary]:
    summary = ExportSummary(without_spans_left_out=True)
    examples: list[list] = []
    for doc in entity_documents():
        if doc["spans"] is None:
            summary.without_spans += 1
            continue
        if any(span["needs_recheck"] for span in doc["spans"]):
            summary.recheck_left_out += 1
            continue
        if only_tagged and not doc["spans"]:
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
