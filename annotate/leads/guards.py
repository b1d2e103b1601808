"""What the lead console reads of other apps: flags (escalation) and entity spans (catalog)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Count, Exists, OuterRef

from annotate.catalog.models import EntitySpan
from annotate.escalation.models import Flag
from annotate.review.metrics import normalise


def flagged(outer: str = "pk") -> Exists:
    """A filter that is true for clips with a flag (outer ref: the clip's pk)."""
    return Exists(Flag.objects.filter(case__clip_id=OuterRef(outer)))


def is_flagged(clip_id: int) -> bool:
    return Flag.objects.filter(case__clip_id=clip_id).exists()


def flag_counts(*, since) -> dict[str, Any]:
    """Numbers only: how many flags, recently, and by category and severity."""
    qs = Flag.objects.all()
    counts: dict[str, Any] = {"total": qs.count(), "last_24h": qs.filter(created_at__gte=since).count()}
    for field in ("category", "severity"):
        counts[f"by_{field}"] = {
            str(row[field]): row["n"] for row in qs.values(field).annotate(n=Count("pk")).order_by(field)
        }
    return counts


def entity_span_sets(annotations: Sequence[Any]) -> list[set]:
    """Per annotation, its entity spans as comparable keys (surface text, kind, catalog link)."""
    by_annotation: dict[int, set] = {a.pk: set() for a in annotations}
    for span in EntitySpan.objects.filter(annotation_id__in=list(by_annotation)):
        by_annotation[span.annotation_id].add((normalise(span.text or ""), str(span.kind_id), span.entity_id))
    return [by_annotation[a.pk] for a in annotations]
