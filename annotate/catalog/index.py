"""The catalog held in memory, once per process: fuzzy search (the fallback where
PostgreSQL's trigram search is not available) and exact name look-ups for
suggestions.

Each search asks the database for the catalog's version (one indexed read of a
one-row table); when a catalog write bumped it, the index is rebuilt before it
answers, so every process sees a changed catalog at its next search.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz

from annotate.catalog.models import CatalogState, Entity, EntityKind

MAX_NGRAM = 8  # names longer than this (in words) are not suggested
CANDIDATES = 200  # names ranked by rapidfuzz per search


@dataclass(frozen=True)
class Row:
    """One entity, as search and suggestions need it."""

    id: int
    kind: str
    kind_name: str
    linkable: bool
    name: str
    aliases: tuple[str, ...]
    external_ids: dict
    popularity: int
    names: tuple[str, ...]  # folded name first, then folded aliases

    def as_json(self, *, score: float | None = None, matched: str = "") -> dict:
        data = {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "kind_name": self.kind_name,
            "aliases": list(self.aliases),
            "external_ids": self.external_ids,
            "popularity": self.popularity,
        }
        if score is not None:
            data["score"] = round(score, 1)
            data["matched"] = matched
        return data


MIN_SCORE = 70  # below this a result is noise, not a candidate


def rank(query: str, rows: Iterable[Row], *, limit: int) -> list[tuple[Row, float, str]]:
    """Rows ranked by the best WRatio of the folded query against any of their
    names, popularity breaking ties (scores compared to the whole point)."""
    scored = []
    for row in rows:
        best, matched = 0.0, ""
        for name in row.names:
            score = fuzz.WRatio(query, name)
            if score > best:
                best, matched = score, name
        if best >= MIN_SCORE:
            scored.append((row, best, matched))
    # score (to the whole point), then popularity, then a match on the name before one on an alias
    scored.sort(
        key=lambda item: (
            -round(item[1]),
            -item[0].popularity,
            item[2] != item[0].names[0],
            item[0].name.casefold(),
            item[0].id,
        )
    )
    return scored[:limit]


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams of a folded text: each word padded with two spaces before, one after."""
    grams: set[str] = set()
    for word in text.split():
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


@dataclass
class CatalogIndex:
    """Every folded name and alias, with a trigram inverted index (like pg_trgm's)
    to pick candidates fast; rapidfuzz ranks the candidates."""

    version: tuple
    rows: list[Row]
    choices: list[str] = field(default_factory=list)  # every folded name and alias
    owners: list[int] = field(default_factory=list)  # choices[i] names rows[owners[i]]
    exact: dict[str, list[int]] = field(default_factory=dict)  # folded name → row indexes
    by_id: dict[int, int] = field(default_factory=dict)
    postings: dict[str, np.ndarray] = field(default_factory=dict)  # trigram → choice indexes
    choice_kinds: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    kind_codes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, version: tuple, rows: list[Row]) -> CatalogIndex:
        index = cls(version=version, rows=rows)
        postings: dict[str, list[int]] = defaultdict(list)
        kinds: list[int] = []
        for i, row in enumerate(rows):
            index.by_id[row.id] = i
            code = index.kind_codes.setdefault(row.kind, len(index.kind_codes))
            for name in row.names:
                c = len(index.choices)
                index.choices.append(name)
                index.owners.append(i)
                kinds.append(code)
                index.exact.setdefault(name, []).append(i)
                for gram in trigrams(name):
                    postings[gram].append(c)
        index.postings = {gram: np.fromiter(ids, dtype=np.int32, count=len(ids)) for gram, ids in postings.items()}
        index.choice_kinds = np.array(kinds, dtype=np.int16)
        return index

    def candidates(self, query: str, *, kind: str | None, count: int) -> list[int]:
        """Choice indexes sharing the most trigrams with the query (the best `count`)."""
        lists = [self.postings[g] for g in trigrams(query) if g in self.postings]
        if not lists or not self.choices:
            return []
        shared = np.bincount(np.concatenate(lists), minlength=len(self.choices))
        if kind is not None:
            code = self.kind_codes.get(kind)
            if code is None:
                return []
            shared[self.choice_kinds != code] = 0
        hits = np.flatnonzero(shared)
        if len(hits) > count:
            hits = hits[np.argpartition(shared[hits], -count)[-count:]]
        return hits.tolist()

    def search(self, query: str, *, kind: str | None = None, limit: int = 8) -> list[tuple[Row, float, str]]:
        """Fuzzy search over names and aliases: trigrams pick candidates, `rank` orders them."""
        picked = self.candidates(query, kind=kind, count=CANDIDATES)
        rows = {self.owners[c]: self.rows[self.owners[c]] for c in picked}
        return rank(query, rows.values(), limit=limit)

    def row(self, entity_id: int) -> Row | None:
        i = self.by_id.get(entity_id)
        return self.rows[i] if i is not None else None


_lock = threading.Lock()
_cache: dict[str, CatalogIndex] = {}


def current_version() -> tuple:
    """(version, changed_at) of the catalog: the time tells apart two databases
    (or two rolled-back test transactions) that reached the same number."""
    return CatalogState.objects.filter(pk=1).values_list("version", "changed_at").first() or (0, None)


def load_rows() -> list[Row]:
    kinds = {k.pk: k for k in EntityKind.objects.all()}
    rows = []
    fields = ("id", "kind_id", "name", "aliases", "external_ids", "popularity", "search_text")
    for pk, kind_id, name, aliases, external_ids, popularity, search_text in Entity.objects.values_list(
        *fields
    ).iterator(chunk_size=5000):
        kind = kinds[kind_id]
        rows.append(
            Row(
                id=pk,
                kind=kind.slug,
                kind_name=kind.name,
                linkable=kind.linkable,
                name=name,
                aliases=tuple(aliases or ()),
                external_ids=external_ids or {},
                popularity=popularity,
                names=tuple(n for n in search_text.split(" | ") if n),
            )
        )
    return rows


def get_index() -> CatalogIndex:
    """This process's index, rebuilt first if the catalog changed since it was built."""
    version = current_version()
    index = _cache.get("index")
    if index is not None and index.version == version:
        return index
    with _lock:
        index = _cache.get("index")
        if index is None or index.version != version:
            index = CatalogIndex.build(version, load_rows())
            _cache["index"] = index
    return index


def forget() -> None:
    """Drop this process's index (tests; a flushed database restarts versions at 0)."""
    _cache.clear()
