"""Reading what other apps may or may not have yet: flags (escalation) and entity spans.

The console counts flags and compares entity spans where those models exist, and
does without them where they do not; nothing here imports those apps directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef

from annotate.review.metrics import normalise

_LABEL_FIELDS = ("label", "kind", "entity_type", "type", "category")
_LINK_FIELDS = ("entry", "catalog_entry", "entity", "link")


def _model(*candidates: tuple[str, str]) -> type[models.Model] | None:
    for app_label, name in candidates:
        try:
            return apps.get_model(app_label, name)
        except LookupError:
            continue
    return None


def _field_names(model: type[models.Model]) -> set[str]:
    return {f.name for f in model._meta.get_fields()}


def flag_model() -> type[models.Model] | None:
    return _model(("escalation", "Flag"))


def _flag_clip_path(model: type[models.Model]) -> str | None:
    """How a flag reaches its clip: directly, through its case, or through its task."""
    names = _field_names(model)
    if "clip" in names:
        return "clip_id"
    if "case" in names and "clip" in _field_names(model._meta.get_field("case").related_model):
        return "case__clip_id"
    if "task" in names:
        return "task__clip_id"
    return None


def flagged(outer: str = "pk") -> Exists | None:
    """A filter that is true for clips with a flag (outer ref: the clip's pk), or None."""
    model = flag_model()
    path = _flag_clip_path(model) if model else None
    if model is None or path is None:
        return None
    return Exists(model.objects.filter(**{path: OuterRef(outer)}))


def is_flagged(clip_id: int) -> bool:
    model = flag_model()
    path = _flag_clip_path(model) if model else None
    if model is None or path is None:
        return False
    return model.objects.filter(**{path: clip_id}).exists()


def flag_counts(*, since) -> dict[str, Any] | None:
    """Numbers only: how many flags, recently, and by category/severity where recorded."""
    model = flag_model()
    if model is None:
        return None
    names = _field_names(model)
    qs = model.objects.all()
    counts: dict[str, Any] = {"total": qs.count()}
    time_field = next((f for f in ("created_at", "at", "flagged_at") if f in names), None)
    if time_field:
        counts["last_24h"] = qs.filter(**{f"{time_field}__gte": since}).count()
    for field in ("category", "severity"):
        if field in names:
            counts[f"by_{field}"] = {
                str(row[field]): row["n"] for row in qs.values(field).annotate(n=models.Count("pk")).order_by(field)
            }
    return counts


def _attname(model: type[models.Model], name: str) -> str:
    """The attribute holding the field's value (a foreign key's id, not the related object)."""
    return getattr(model._meta.get_field(name), "attname", name)


def entity_span_model() -> type[models.Model] | None:
    return _model(("catalog", "EntitySpan"), ("review", "EntitySpan"))


def entity_span_sets(annotations: Sequence[Any]) -> list[set] | None:
    """Per annotation, its entity spans as comparable keys (surface text, label, link); None if
    the product has no entity spans yet."""
    model = entity_span_model()
    if model is None:
        return None
    fk = next(
        (
            f.name
            for f in model._meta.get_fields()
            if getattr(f, "many_to_one", False)
            and getattr(f, "related_model", None) is not None
            and f.related_model._meta.label_lower == "review.annotation"
        ),
        None,
    )
    if fk is None:
        return None
    names = _field_names(model)
    label_field = next((_attname(model, f) for f in _LABEL_FIELDS if f in names), None)
    link_field = next((_attname(model, f) for f in _LINK_FIELDS if f in names), None)
    by_annotation: dict[int, set] = {a.pk: set() for a in annotations}
    texts = {a.pk: a.corrected_text for a in annotations}
    for span in model.objects.filter(**{f"{fk}_id__in": list(by_annotation)}):
        owner = getattr(span, f"{fk}_id")
        surface = getattr(span, "text", None)
        if surface is None and hasattr(span, "start") and hasattr(span, "end"):
            surface = texts.get(owner, "")[span.start : span.end]
        key = (
            normalise(str(surface or "")),
            str(getattr(span, label_field, "")) if label_field else "",
            getattr(span, link_field, None) if link_field else None,
        )
        by_annotation[owner].add(key)
    return [by_annotation[a.pk] for a in annotations]
