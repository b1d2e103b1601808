"""Writes of the catalog app: importing the catalog, and a lead's bulk tagging (mining) and its undo.

Every write to the catalog bumps CatalogState.version, which makes each process
rebuild its in-memory search index at its next search (annotate/catalog/index.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from annotate.audit import services as audit
from annotate.catalog import selectors
from annotate.catalog.importer import BadRow, CatalogRow
from annotate.catalog.models import CatalogState, Entity, EntityKind, EntitySpan, MiningBatch, search_fields
from annotate.catalog.normalize import find_phrase, fold_phrase
from annotate.clips.models import MachineTranscript
from annotate.review.models import Annotation

BATCH_SIZE = 1000
MAX_MINING_MATCHES = 1000
SOURCES = ("reviewed", "machine")


def bump_version() -> None:
    """Tell every process the catalog changed (their search index is rebuilt)."""
    if not CatalogState.objects.filter(pk=1).update(version=F("version") + 1, changed_at=timezone.now()):
        CatalogState.objects.get_or_create(pk=1, defaults={"version": 1})


# --- import ---------------------------------------------------------------------


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    bad: list[BadRow] = field(default_factory=list)
    seconds: float = 0.0

    def text(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.bad)} bad row(s), in {self.seconds:.2f} s"
        )


def _kind_lookup() -> dict[str, EntityKind]:
    kinds: dict[str, EntityKind] = {}
    for kind in EntityKind.objects.all():
        kinds[kind.slug] = kind
        kinds.setdefault(kind.name.lower(), kind)
        for part in kind.name.lower().split("/"):
            kinds.setdefault(part.strip(), kind)
    return kinds


@transaction.atomic
def import_catalog(*, rows: Iterable[CatalogRow | BadRow]) -> ImportReport:
    """Create or update catalog entities; bad rows are reported, the rest imported.

    A row with external ids updates the entity that has one of them; a row
    without updates the entity of the same kind and (folded) name. One pass, a
    few bulk queries per thousand rows.
    """
    started = time.perf_counter()
    report = ImportReport()
    kinds = _kind_lookup()
    existing: dict[int, Entity] = {}
    by_id: dict[tuple[str, str], int] = {}
    by_name: dict[tuple[int, str], list[int]] = {}
    for entity in Entity.objects.only(
        "id", "kind_id", "name", "aliases", "external_ids", "popularity", "name_key"
    ).iterator(chunk_size=5000):
        existing[entity.pk] = entity
        for scheme, value in (entity.external_ids or {}).items():
            by_id[(scheme, value)] = entity.pk
        by_name.setdefault((entity.kind_id, entity.name_key), []).append(entity.pk)

    seen_ids: dict[tuple[str, str], int] = {}
    seen_names: dict[tuple[int, str], int] = {}
    to_create: list[Entity] = []
    to_update: dict[int, Entity] = {}
    now = timezone.now()
    for row in rows:
        if isinstance(row, BadRow):
            report.bad.append(row)
            continue
        kind = kinds.get(row.kind)
        if kind is None:
            known = ", ".join(sorted({k.slug for k in kinds.values()}))
            report.bad.append(BadRow(row.line, f"unknown kind {row.kind!r} (known: {known})"))
            continue
        name_key, search_text = search_fields(row.name, row.aliases)
        if not name_key:
            report.bad.append(BadRow(row.line, "the name has no letters or digits (and no alias has)"))
            continue
        pairs = list(row.external_ids.items())
        clash = next((seen_ids[p] for p in pairs if p in seen_ids), None)
        if clash is not None:
            scheme = next(s for s, v in pairs if (s, v) in seen_ids)
            report.bad.append(BadRow(row.line, f"the same {scheme} id as line {clash}"))
            continue
        if not pairs and (kind.pk, name_key) in seen_names:
            line = seen_names[(kind.pk, name_key)]
            report.bad.append(BadRow(row.line, f"the same kind and name as line {line}, and no external id"))
            continue
        if pairs:
            matched = {by_id[p] for p in pairs if p in by_id}
            if len(matched) > 1:
                report.bad.append(BadRow(row.line, f"its ids belong to {len(matched)} different catalog entries"))
                continue
            target = existing[matched.pop()] if matched else None
        else:
            candidates = by_name.get((kind.pk, name_key), [])
            if len(candidates) > 1:
                report.bad.append(
                    BadRow(row.line, f"{len(candidates)} {kind.slug} entries have this name: add an external id")
                )
                continue
            target = existing[candidates[0]] if candidates else None
        for p in pairs:
            seen_ids[p] = row.line
        seen_names.setdefault((kind.pk, name_key), row.line)

        if target is None:
            to_create.append(
                Entity(
                    kind=kind,
                    name=row.name,
                    aliases=row.aliases,
                    external_ids=row.external_ids,
                    popularity=row.popularity,
                    name_key=name_key,
                    search_text=search_text,
                )
            )
            report.created += 1
            continue
        ids = {**(target.external_ids or {}), **row.external_ids}
        new = (kind.pk, row.name, row.aliases, ids, row.popularity)
        old = (target.kind_id, target.name, target.aliases, target.external_ids, target.popularity)
        if new == old:
            report.unchanged += 1
            continue
        if target.pk in to_update:
            # Two rows (by name, then by id) reached the same entity: the later row wins.
            report.updated -= 1
        target.kind_id, target.name, target.aliases, target.external_ids, target.popularity = new
        target.updated_at = now
        target.name_key, target.search_text = name_key, search_text
        to_update[target.pk] = target
        report.updated += 1

    Entity.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
    fields = ["kind", "name", "aliases", "external_ids", "popularity", "name_key", "search_text", "updated_at"]
    Entity.objects.bulk_update(list(to_update.values()), fields, batch_size=BATCH_SIZE)
    if to_create or to_update:
        bump_version()
    report.bad.sort(key=lambda b: b.line)
    report.seconds = time.perf_counter() - started
    return report


# --- mining: a lead's bulk tagging ---------------------------------------------------------


class MiningError(ValueError):
    """The bulk apply or undo cannot be done; the message says why (in the lead's language)."""


class BatchNotFound(MiningError):
    pass


def _link(*, kind_slug: str, entity_id: Any, not_in_catalog_name: str) -> tuple[EntityKind, Entity | None, str]:
    kind = EntityKind.objects.filter(slug=kind_slug).first()
    if kind is None:
        raise MiningError(gettext("unknown kind %(kind)r") % {"kind": kind_slug})
    name = (not_in_catalog_name or "").strip()[:200]
    if entity_id is None:
        if kind.linkable and not name:
            raise MiningError(
                gettext("%(kind)s: pick a catalog entry, or give a not-in-catalog name") % {"kind": kind.name}
            )
        return kind, None, name
    if not isinstance(entity_id, int) or isinstance(entity_id, bool):
        raise MiningError(gettext("entity_id must be a number or null"))
    if not kind.linkable:
        raise MiningError(gettext("%(kind)s spans are not linked to the catalog") % {"kind": kind.name})
    entity = Entity.objects.filter(pk=entity_id).first()
    if entity is None:
        raise MiningError(gettext("catalog entry %(id)s does not exist") % {"id": entity_id})
    if entity.kind_id != kind.pk:
        raise MiningError(
            gettext("%(name)r is not a %(kind)s in the catalog") % {"name": entity.name, "kind": kind.name}
        )
    return kind, entity, ""


def search_mining(
    *, user, phrase: str, source: str = "all", page: int = 1, per_page: int = 50, ip: str | None = None
) -> dict[str, Any]:
    """A lead's search of the transcripts for a phrase (selectors.mine); the first page of each search is audited."""
    result = selectors.mine(phrase=phrase, source=source, page=page, per_page=per_page)
    if page == 1:
        audit.record(
            action="catalog.mine.search",
            actor=user,
            ip=ip,
            details={"phrase": phrase, "source": source, "total": result["total"]},
        )
    return result


@transaction.atomic
def apply_mining(
    *,
    user,
    phrase: str,
    matches: list[dict],
    kind: str,
    entity_id: int | None = None,
    not_in_catalog_name: str = "",
    ip: str | None = None,
) -> tuple[MiningBatch, int]:
    """Tag the chosen matches of `phrase` with a kind and a link, as one undoable batch.

    Each match is `{source: "reviewed"|"machine", id, start, end}` as the mining
    search returned it, and must still be an occurrence of the phrase. Matches
    that overlap a span already there are left alone. Returns (batch, skipped).
    """
    if not fold_phrase(phrase):
        raise MiningError(gettext("the phrase is empty"))
    if not isinstance(matches, list) or not matches:
        raise MiningError(gettext("choose at least one match"))
    if len(matches) > MAX_MINING_MATCHES:
        raise MiningError(gettext("at most %(max)s matches at once") % {"max": MAX_MINING_MATCHES})
    kind_obj, entity, name = _link(kind_slug=kind, entity_id=entity_id, not_in_catalog_name=not_in_catalog_name)
    wanted: dict[str, set[int]] = {s: set() for s in SOURCES}
    for n, match in enumerate(matches, start=1):
        if (
            not isinstance(match, dict)
            or match.get("source") not in SOURCES
            or not all(
                isinstance(match.get(k), int) and not isinstance(match.get(k), bool) for k in ("id", "start", "end")
            )
        ):
            raise MiningError(gettext("match %(n)s must be {source: reviewed|machine, id, start, end}") % {"n": n})
        wanted[match["source"]].add(match["id"])
    texts = {
        "reviewed": dict(
            Annotation.objects.filter(pk__in=wanted["reviewed"], accidental=False).values_list("pk", "corrected_text")
        )
        if wanted["reviewed"]
        else {},
        "machine": dict(MachineTranscript.objects.filter(pk__in=wanted["machine"]).values_list("pk", "text"))
        if wanted["machine"]
        else {},
    }
    taken: dict[tuple[str, int], list[tuple[int, int]]] = {}
    existing = EntitySpan.objects.none()
    if wanted["reviewed"]:
        existing = existing | EntitySpan.objects.filter(annotation_id__in=wanted["reviewed"])
    if wanted["machine"]:
        existing = existing | EntitySpan.objects.filter(transcript_id__in=wanted["machine"])
    for annotation_id, transcript_id, start, end in existing.values_list(
        "annotation_id", "transcript_id", "start", "end"
    ):
        key = ("reviewed", annotation_id) if annotation_id else ("machine", transcript_id)
        taken.setdefault(key, []).append((start, end))

    batch = MiningBatch.objects.create(
        created_by=user, phrase=phrase.strip()[:200], kind=kind_obj, entity=entity, not_in_catalog_name=name
    )
    spans: list[EntitySpan] = []
    skipped = 0
    occurrences: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for n, match in enumerate(matches, start=1):
        key = (match["source"], match["id"])
        text = texts[match["source"]].get(match["id"])
        if text is None:
            raise MiningError(gettext("match %(n)s: that transcript is gone") % {"n": n})
        if key not in occurrences:
            occurrences[key] = find_phrase(text, phrase)
        start, end = match["start"], match["end"]
        if (start, end) not in occurrences[key]:
            raise MiningError(
                gettext("match %(n)s: the text there is no longer %(phrase)r; search again")
                % {"n": n, "phrase": phrase.strip()}
            )
        if any(start < e and s < end for s, e in taken.get(key, [])):
            skipped += 1
            continue
        taken.setdefault(key, []).append((start, end))
        target = {"annotation_id": match["id"]} if match["source"] == "reviewed" else {"transcript_id": match["id"]}
        spans.append(
            EntitySpan(
                start=start,
                end=end,
                text=text[start:end],
                kind=kind_obj,
                entity=entity,
                not_in_catalog_name=name,
                source=EntitySpan.Source.MINING,
                created_by=user,
                batch=batch,
                **target,
            )
        )
    EntitySpan.objects.bulk_create(spans, batch_size=BATCH_SIZE)
    batch.created_count = len(spans)
    batch.save(update_fields=["created_count"])
    audit.record(
        action="catalog.mine.apply",
        actor=user,
        target=f"mining batch {batch.pk}",
        ip=ip,
        details={
            "batch": batch.pk,
            "phrase": batch.phrase,
            "kind": kind_obj.slug,
            "entity_id": entity.pk if entity else None,
            "not_in_catalog_name": name,
            "created": len(spans),
            "skipped": skipped,
        },
    )
    return batch, skipped


@transaction.atomic
def undo_mining(*, user, batch_id: int, ip: str | None = None) -> int:
    """Remove the spans a bulk apply created. Returns how many were removed."""
    batch = MiningBatch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise BatchNotFound(gettext("no such bulk apply"))
    if batch.undone_at is not None:
        raise MiningError(gettext("this bulk apply was already undone"))
    removed, _ = EntitySpan.objects.filter(batch=batch).delete()
    batch.undone_at = timezone.now()
    batch.undone_by = user
    batch.save(update_fields=["undone_at", "undone_by"])
    audit.record(
        action="catalog.mine.undo",
        actor=user,
        target=f"mining batch {batch.pk}",
        ip=ip,
        details={"batch": batch.pk, "phrase": batch.phrase, "removed": removed},
    )
    return removed
