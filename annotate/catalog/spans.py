"""Entity spans sent with a submit: parsed and checked before anything is stored.

The review page sends `spans`, a list of
`{start, end, text, kind, entity_id, not_in_catalog_name, needs_recheck, source}`
with character offsets into the corrected text as typed. Every check here fails
with a message that names the span, so the reviewer knows what to fix; a
submit with a bad span stores nothing. What a reviewer can meet on the page (a span
that no longer fits the text, an overlap, a span not linked) is in their language
(gettext when raised, in their request); what only a broken client sends (`parse_spans`:
a field of the wrong type) stays in English, as the JSON plumbing's answers do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext

from annotate.catalog.models import Entity, EntityKind, EntitySpan

MAX_SPANS = 100
MAX_NAME = 200
SOURCES = (EntitySpan.Source.REVIEWER.value, EntitySpan.Source.SUGGESTION.value)


class SpanError(ValueError):
    """A span is malformed or does not fit the text; the message says which and why."""


@dataclass(frozen=True)
class SpanInput:
    start: int
    end: int
    text: str
    kind: str
    entity_id: int | None = None
    not_in_catalog_name: str = ""
    needs_recheck: bool = False
    source: str = EntitySpan.Source.REVIEWER.value

    @property
    def label(self) -> str:
        """The span as the reviewer's message names it, in their language: span 'Shake It Off' (song)."""
        return gettext("span %(words)s (%(kind)s)") % {"words": repr(self.text[:40]), "kind": self.kind}


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_spans(raw: Any) -> tuple[SpanInput, ...]:
    """The `spans` of a submit body, type-checked (not yet checked against the text)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise SpanError("spans must be a list")
    if len(raw) > MAX_SPANS:
        raise SpanError(f"at most {MAX_SPANS} spans per clip")
    spans = []
    for n, item in enumerate(raw, start=1):
        where = f"span {n}"
        if not isinstance(item, dict):
            raise SpanError(f"{where} must be an object")
        start, end = item.get("start"), item.get("end")
        if not _int(start) or not _int(end):
            raise SpanError(f"{where}: start and end must be whole numbers")
        text, kind = item.get("text"), item.get("kind")
        if not isinstance(text, str) or not isinstance(kind, str) or not kind:
            raise SpanError(f"{where}: text and kind must be strings")
        entity_id = item.get("entity_id")
        if entity_id is not None and not _int(entity_id):
            raise SpanError(f"{where}: entity_id must be a number or null")
        name = item.get("not_in_catalog_name") or ""
        if not isinstance(name, str) or len(name) > MAX_NAME:
            raise SpanError(f"{where}: not_in_catalog_name must be a string of at most {MAX_NAME} characters")
        recheck = item.get("needs_recheck", False)
        if not isinstance(recheck, bool):
            raise SpanError(f"{where}: needs_recheck must be true or false")
        source = item.get("source") or EntitySpan.Source.REVIEWER.value
        if source not in SOURCES:
            raise SpanError(f"{where}: source must be one of {', '.join(SOURCES)}")
        spans.append(
            SpanInput(
                start=start,
                end=end,
                text=text,
                kind=kind,
                entity_id=entity_id,
                not_in_catalog_name=name.strip(),
                needs_recheck=recheck,
                source=source,
            )
        )
    return tuple(spans)


def check_against_text(spans: tuple[SpanInput, ...], text: str) -> None:
    """Offsets inside the text, the text at the offsets the span's, no overlaps."""
    previous: SpanInput | None = None
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        where = {"span": span.label, "start": span.start, "end": span.end}
        if not 0 <= span.start < span.end <= len(text):
            raise SpanError(gettext("%(span)s: offsets %(start)s–%(end)s are outside the transcript") % where)
        if text[span.start : span.end] != span.text:
            found = repr(text[span.start : span.end])
            raise SpanError(
                gettext("%(span)s: the transcript has %(found)s at %(start)s–%(end)s; tag the span again")
                % {**where, "found": found}
            )
        if span.text != span.text.strip():
            raise SpanError(gettext("%(span)s: a span must not start or end with a space") % where)
        if previous is not None and span.start < previous.end:
            raise SpanError(
                gettext("%(span)s overlaps %(other)s: remove one of them") % {**where, "other": previous.label}
            )
        previous = span


def resolve(spans: tuple[SpanInput, ...]) -> tuple[dict[str, EntityKind], dict[int, Entity]]:
    """Kinds and entities the spans name, checked: a linkable kind needs a catalog
    entry of that kind or a not-in-catalog name. Two queries at most."""
    if not spans:
        return {}, {}
    kinds = {k.slug: k for k in EntityKind.objects.filter(slug__in={s.kind for s in spans})}
    ids = {s.entity_id for s in spans if s.entity_id is not None}
    entities = Entity.objects.in_bulk(ids) if ids else {}
    for span in spans:
        kind = kinds.get(span.kind)
        named = span.label
        if kind is None:
            raise SpanError(gettext("%(span)s: unknown kind %(kind)s") % {"span": named, "kind": repr(span.kind)})
        if span.entity_id is not None:
            entity = entities.get(span.entity_id)
            if entity is None:
                raise SpanError(
                    gettext("%(span)s: catalog entry %(id)s does not exist") % {"span": named, "id": span.entity_id}
                )
            if not kind.linkable:  # the kind's name is catalog data, as written (docs/i18n.md)
                raise SpanError(
                    gettext("%(span)s: %(kind)s spans are not linked to the catalog")
                    % {"span": named, "kind": kind.name}
                )
            if entity.kind_id != kind.pk:
                raise SpanError(
                    gettext("%(span)s: %(entity)s is not a %(kind)s in the catalog")
                    % {"span": named, "entity": repr(entity.name), "kind": kind.name}
                )
            if span.not_in_catalog_name:
                raise SpanError(
                    gettext("%(span)s: either a catalog entry or a not-in-catalog name, not both") % {"span": named}
                )
        elif kind.linkable and not span.not_in_catalog_name:
            raise SpanError(
                gettext("%(span)s is not linked: pick a catalog entry, or mark it not in catalog") % {"span": named}
            )
    return kinds, entities


def build_spans(*, spans: tuple[SpanInput, ...], shift: int, user, **target) -> list[EntitySpan]:
    """Unsaved EntitySpan rows for an annotation or transcript (`target`), checked.

    `shift` moves every offset (the corrected text is stored stripped, the page
    counts from the text as typed).
    """
    kinds, _ = resolve(spans)
    return [
        EntitySpan(
            start=s.start + shift,
            end=s.end + shift,
            text=s.text,
            kind=kinds[s.kind],
            entity_id=s.entity_id,
            not_in_catalog_name="" if s.entity_id is not None else s.not_in_catalog_name,
            needs_recheck=s.needs_recheck,
            source=s.source,
            created_by=user,
            **target,
        )
        for s in spans
    ]


def store_for_annotation(*, annotation, spans: tuple[SpanInput, ...], typed_text: str, user) -> list[EntitySpan]:
    """Store a submit's spans on its annotation (one bulk insert). Offsets come
    from the text as typed; the annotation keeps it stripped, so they shift."""
    shift = len(typed_text.lstrip()) - len(typed_text)
    rows = build_spans(spans=spans, shift=shift, user=user, annotation=annotation)
    return EntitySpan.objects.bulk_create(rows)
