"""Reads of the catalog app: kinds, catalog search, span suggestions, mining, spans as JSON.

The entity export (one document per exportable clip) lives in annotate/leads/entity_exports.py,
since which clips may be exported is the leads app's rule.

Nothing here returns audio or any identifier of a recorded person: transcripts
are text only, addressed by the annotation's or machine transcript's row id.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, F, Func, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower

from annotate.catalog import index as catalog_index
from annotate.catalog.commonwords import COMMON_WORDS
from annotate.catalog.models import Entity, EntityKind, EntitySpan, MiningBatch
from annotate.catalog.normalize import find_phrase, fold_phrase, normalize, tokens
from annotate.clips.models import MachineTranscript
from annotate.review.models import Annotation

MAX_QUERY = 200
MAX_LIMIT = 50
TRIGRAM_CANDIDATES = 100


def kinds() -> list[dict[str, Any]]:
    return [
        {"slug": k.slug, "name": k.name, "linkable": k.linkable, "digit": i}
        for i, k in enumerate(EntityKind.objects.all(), start=1)
    ]


def kind_by_slug(slug: str) -> EntityKind | None:
    return EntityKind.objects.filter(slug=slug).first()


# --- search ---------------------------------------------------------------------


def search_backend() -> str:
    """ "memory" (the in-memory trigram index, ranked by rapidfuzz) or "trigram"
    (PostgreSQL's pg_trgm, ranked by rapidfuzz): ANNOTATE_CATALOG_SEARCH, with
    memory wherever PostgreSQL is not the database."""
    if settings.ANNOTATE_CATALOG_SEARCH == "trigram" and connection.vendor == "postgresql":
        return "trigram"
    return "memory"


def _row(entity: Entity) -> catalog_index.Row:
    return catalog_index.Row(
        id=entity.pk,
        kind=entity.kind.slug,
        kind_name=entity.kind.name,
        linkable=entity.kind.linkable,
        name=entity.name,
        aliases=tuple(entity.aliases or ()),
        external_ids=entity.external_ids or {},
        popularity=entity.popularity,
        names=tuple(n for n in entity.search_text.split(" | ") if n),
    )


def _trigram_search(query: str, *, kind: EntityKind | None, limit: int) -> list[tuple[catalog_index.Row, float, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)",
            [str(settings.ANNOTATE_CATALOG_TRIGRAM_THRESHOLD)],
        )
    qs = Entity.objects.select_related("kind").filter(
        RawSQL("%s <%% search_text", [query], output_field=BooleanField())
    )
    if kind is not None:
        qs = qs.filter(kind=kind)
    qs = qs.annotate(similarity=RawSQL("word_similarity(%s, search_text)", [query])).order_by(
        "-similarity", "-popularity"
    )[:TRIGRAM_CANDIDATES]
    return catalog_index.rank(query, [_row(e) for e in qs], limit=limit)


def search_entities(*, query: str, kind: EntityKind | None = None, limit: int = 8) -> list[dict[str, Any]]:
    """Catalog entries for a typed name, best first: fuzzy match on name and aliases
    (accent- and case-folded), popularity breaking ties."""
    folded = normalize(query[:MAX_QUERY])
    if not folded:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    if search_backend() == "trigram":
        ranked = _trigram_search(folded, kind=kind, limit=limit)
    else:
        ranked = catalog_index.get_index().search(folded, kind=kind.slug if kind else None, limit=limit)
    return [row.as_json(score=score, matched=matched) for row, score, matched in ranked]


# --- suggestions ------------------------------------------------------------------

# Words around a name that say what it is: "play X", "X by Y", "in X", "open X".
CUES_BEFORE = {
    "artist": {"by", "play", "playing", "from", "hear", "of"},
    "song": {"play", "playing", "hear", "song", "track"},
    "album": {"play", "playing", "album", "record"},
    "podcast": {"play", "playing", "podcast", "episode", "of", "listen", "to"},
    "app": {"open", "launch", "start", "on", "using", "with", "in"},
    "place": {"in", "to", "from", "at", "near", "around", "for"},
}
CUES_AFTER = {
    "song": {"by"},
    "album": {"by"},
    "podcast": {"podcast", "episode"},
    "app": {"app"},
}
KNOWN_POPULARITY = 60  # the catalog's well-known names; made-up or obscure ones score lower


# "shake it off by/my/bye Taylor Swift": the words Whisper hears for "by"
BY_WORDS = {"by", "my", "bye", "buy", "from"}


def _cued(kind: str, before: str, after: str) -> bool:
    return before in CUES_BEFORE.get(kind, ()) or after in CUES_AFTER.get(kind, ())


def _plain(words: list[str]) -> bool:
    return all(w in COMMON_WORDS or w.isdigit() for w in words) or len(" ".join(words)) < 3


def _hits(index: catalog_index.CatalogIndex, words: list[str]) -> list[catalog_index.Row]:
    return [index.rows[j] for j in index.exact.get(" ".join(words), ()) if index.rows[j].linkable]


def suggest_spans(*, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Spans of `text` whose words are exactly (after folding) a catalog name or alias.

    Longest match first, left to right, no overlaps. A name made only of everyday
    words ("wake me up", "hello"), or an obscure one-word name, is proposed only
    where the words around it say what it is ("play hello by …", "weather in
    London", a song next to a named artist); the reviewer accepts or rejects each.
    """
    found = tokens(text)
    if not found:
        return []
    index = catalog_index.get_index()
    norms = [t.norm for t in found]
    windows = [(i, n) for i in range(len(found)) for n in range(min(catalog_index.MAX_NGRAM, len(found) - i), 0, -1)]
    # Artists named outright (not in everyday words, not obscure single words), by the
    # tokens they start and end at: a song or album just before or after one is music.
    artists = [
        (i, i + n)
        for i, n in windows
        if not _plain(norms[i : i + n])
        and any(
            r.kind == "artist" and (n > 1 or r.popularity >= KNOWN_POPULARITY) for r in _hits(index, norms[i : i + n])
        )
    ]

    def beside_artist(i: int, n: int) -> bool:
        end = i + n
        return any(
            a_start == end or (a_start == end + 1 and norms[end] in BY_WORDS) or a_end == i
            for a_start, a_end in artists
        )

    out: list[dict[str, Any]] = []
    i = 0
    while i < len(found) and len(out) < limit:
        match = None
        for n in range(min(catalog_index.MAX_NGRAM, len(found) - i), 0, -1):
            words = norms[i : i + n]
            hits = _hits(index, words)
            if not hits:
                continue
            before = norms[i - 1] if i else ""
            after = norms[i + n] if i + n < len(found) else ""
            plain = _plain(words)
            titled = n > 1 and all(text[t.start].isupper() or text[t.start].isdigit() for t in found[i : i + n])

            music = beside_artist(i, n)

            def cued(row: catalog_index.Row, b: str = before, a: str = after, music: bool = music) -> bool:
                return _cued(row.kind, b, a) or (music and row.kind in ("song", "album"))

            def needs_cue(row: catalog_index.Row, plain: bool = plain, n: int = n) -> bool:
                return plain or (n == 1 and row.popularity < KNOWN_POPULARITY)

            usable = [r for r in hits if not needs_cue(r) or titled or cued(r)]
            if not usable:
                continue
            key = " ".join(words)
            usable.sort(key=lambda r: (not cued(r), (r.names[0] if r.names else "") != key, -r.popularity, r.id))
            match = (n, usable)
            break
        if match is None:
            i += 1
            continue
        n, usable = match
        start, end = found[i].start, found[i + n - 1].end
        best = usable[0]
        out.append(
            {
                "start": start,
                "end": end,
                "text": text[start:end],
                "kind": best.kind,
                "entity": best.as_json(),
                "alternatives": [r.as_json() for r in usable[1:5]],
            }
        )
        i += n
    return out


# --- mining ---------------------------------------------------------------------------


def _source_rows(source: str, *, needle: str, window: int) -> tuple[list[tuple[int, str]], bool]:
    """(id, text) of the newest `window` transcripts of a source that may contain the
    needle, and whether the window cut some off. PostgreSQL narrows them down with
    unaccent; elsewhere every transcript in the window is read."""
    qs: QuerySet[Any]
    if source == "reviewed":
        qs = Annotation.objects.filter(accidental=False).exclude(corrected_text="")
        field = "corrected_text"
    else:
        qs = MachineTranscript.objects.exclude(text="")
        field = "text"
    if connection.vendor == "postgresql":
        longest = max(needle.split(), key=len)
        qs = qs.annotate(folded=Func(Lower(F(field)), function="unaccent")).filter(folded__contains=longest)
    rows = list(qs.order_by("-pk").values_list("pk", field)[: window + 1])
    return rows[:window], len(rows) > window


def mine(
    *, phrase: str, source: str = "all", page: int = 1, per_page: int = 50, window: int | None = None
) -> dict[str, Any]:
    """Occurrences of a phrase in reviewed and machine transcripts (accent- and
    case-insensitive, whole words), newest first, a page at a time, in context.

    At most `window` transcripts per source are searched (the newest ones); the
    answer says when the window cut the search short.
    """
    needle = fold_phrase(phrase)
    window = window or settings.ANNOTATE_MINING_WINDOW
    sources = ("reviewed", "machine") if source == "all" else (source,)
    matches: list[dict[str, Any]] = []
    truncated = False
    for src in sources:
        rows, cut = _source_rows(src, needle=needle, window=window)
        truncated = truncated or cut
        for pk, text in rows:
            for start, end in find_phrase(text, phrase):
                matches.append({"source": src, "id": pk, "start": start, "end": end, "_text": text})
    total = len(matches)
    pages = max(1, -(-total // per_page))
    page = max(1, min(page, pages))
    shown = matches[(page - 1) * per_page : page * per_page]
    _attach_spans(shown)
    context = settings.ANNOTATE_MINING_CONTEXT
    for m in shown:
        text = m.pop("_text")
        before_start = max(0, m["start"] - context)
        m["before"] = ("…" if before_start else "") + text[before_start : m["start"]]
        m["match"] = text[m["start"] : m["end"]]
        after_end = m["end"] + context
        m["after"] = text[m["end"] : after_end] + ("…" if after_end < len(text) else "")
    return {
        "phrase": phrase,
        "total": total,
        "page": page,
        "pages": pages,
        "per_page": per_page,
        "window": window,
        "truncated": truncated,
        "matches": shown,
    }


def _attach_spans(matches: list[dict[str, Any]]) -> None:
    """Each match gets the spans already on its words (`tagged`), so a lead sees what is done."""
    ids: dict[str, set[int]] = {"reviewed": set(), "machine": set()}
    for m in matches:
        ids[m["source"]].add(m["id"])
    spans = list(
        EntitySpan.objects.filter(annotation_id__in=ids["reviewed"]).select_related("kind", "entity")
        if ids["reviewed"]
        else []
    ) + list(
        EntitySpan.objects.filter(transcript_id__in=ids["machine"]).select_related("kind", "entity")
        if ids["machine"]
        else []
    )
    by_target: dict[tuple[str, int | None], list[EntitySpan]] = {}
    for span in spans:
        key = ("reviewed", span.annotation_id) if span.annotation_id else ("machine", span.transcript_id)
        by_target.setdefault(key, []).append(span)
    for m in matches:
        m["tagged"] = [
            span_json(s) for s in by_target.get((m["source"], m["id"]), []) if s.start < m["end"] and m["start"] < s.end
        ]


def span_json(span: EntitySpan) -> dict[str, Any]:
    return {
        "start": span.start,
        "end": span.end,
        "text": span.text,
        "kind": span.kind.slug,
        "entity": {"id": span.entity.pk, "name": span.entity.name, "external_ids": span.entity.external_ids}
        if span.entity
        else None,
        "not_in_catalog_name": span.not_in_catalog_name,
        "needs_recheck": span.needs_recheck,
        "source": span.source,
    }


def recent_batches(*, limit: int = 20) -> list[dict[str, Any]]:
    batches = MiningBatch.objects.select_related("kind", "entity", "created_by", "undone_by")[:limit]
    return [
        {
            "id": b.pk,
            "phrase": b.phrase,
            "kind": b.kind.slug,
            "entity": {"id": b.entity.pk, "name": b.entity.name} if b.entity else None,
            "not_in_catalog_name": b.not_in_catalog_name,
            "created": b.created_count,
            "by": b.created_by.get_username(),
            "at": b.created_at.isoformat(),
            "undone_at": b.undone_at.isoformat() if b.undone_at else None,
            "undone_by": b.undone_by.get_username() if b.undone_by else None,
        }
        for b in batches
    ]
