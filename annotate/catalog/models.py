"""The entity catalog (artists, songs, …), and the entity spans tagged on transcripts.

Kinds are data: a lead or an admin adds one in the admin, no code changes. A
span belongs to a reviewer's annotation (tagged on the corrected text at submit,
or bulk-applied by a lead's mining) or to a machine transcript (mining only);
its offsets are character offsets into that text.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from annotate.catalog.normalize import normalize


def search_fields(name: str, aliases: list[str]) -> tuple[str, str]:
    """(name_key, search_text) of an entity: its folded name, and its folded name and aliases."""
    folded = [normalize(a) for a in aliases]
    # A name without letters or digits ("÷") is known by its first alias ("Divide").
    name_key = (normalize(name) or next((a for a in folded if a), ""))[:200]
    return name_key, " | ".join(dict.fromkeys(n for n in [name_key, *folded] if n))


class EntityKind(models.Model):
    slug = models.SlugField(max_length=32, unique=True, help_text="used in exports and the API, e.g. artist")
    name = models.CharField(max_length=64, help_text="shown to reviewers, e.g. podcast / audiobook")
    linkable = models.BooleanField(default=True, help_text="spans of this kind are linked to a catalog entry")
    position = models.PositiveSmallIntegerField(default=0, help_text="order on the review page (its digit key)")

    class Meta:
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.name


class Entity(models.Model):
    kind = models.ForeignKey(EntityKind, on_delete=models.PROTECT, related_name="entities")
    name = models.CharField(max_length=200)
    aliases = models.JSONField(default=list, blank=True, help_text='other names, e.g. ["T Swift"]')
    external_ids = models.JSONField(default=dict, blank=True, help_text='e.g. {"musicbrainz": "…"}')
    popularity = models.PositiveIntegerField(default=0, help_text="0–100; breaks ties in search")
    name_key = models.CharField(max_length=200, editable=False, help_text="the folded name")
    search_text = models.TextField(editable=False, help_text="folded name and aliases, ' | '-separated")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "entities"
        indexes = [models.Index(fields=["kind", "name_key"], name="entity_kind_name_idx")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.refresh_search_fields()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "name_key", "search_text", "updated_at"}
        super().save(*args, **kwargs)

    def refresh_search_fields(self) -> None:
        """Recompute the folded fields from name and aliases (save() does it)."""
        self.name_key, self.search_text = search_fields(self.name, self.aliases)


class CatalogState(models.Model):
    """One row: the catalog's version, bumped by every catalog write, so that each
    process rebuilds its in-memory search index when the catalog changed."""

    version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)


class MiningBatch(models.Model):
    """A lead's bulk apply of a kind (and a link) to chosen matches of a phrase; undoable."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mining_batches")
    phrase = models.CharField(max_length=200)
    kind = models.ForeignKey(EntityKind, on_delete=models.PROTECT, related_name="+")
    entity = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    not_in_catalog_name = models.CharField(max_length=200, blank=True)
    created_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.phrase!r} → {self.kind.slug}"


class EntitySpan(models.Model):
    class Source(models.TextChoices):
        REVIEWER = "reviewer", "tagged by the reviewer"
        SUGGESTION = "suggestion", "suggested from the catalog, accepted by the reviewer"
        MINING = "mining", "bulk-applied by a lead"

    annotation = models.ForeignKey(
        "review.Annotation", null=True, blank=True, on_delete=models.CASCADE, related_name="spans"
    )
    transcript = models.ForeignKey(
        "clips.MachineTranscript", null=True, blank=True, on_delete=models.CASCADE, related_name="spans"
    )
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.CharField(max_length=500)
    kind = models.ForeignKey(EntityKind, on_delete=models.PROTECT, related_name="spans")
    entity = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.PROTECT, related_name="spans")
    not_in_catalog_name = models.CharField(max_length=200, blank=True)
    needs_recheck = models.BooleanField(default=False, help_text="its words changed after it was tagged")
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.REVIEWER)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(MiningBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="spans")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(annotation__isnull=False, transcript__isnull=True)
                | models.Q(annotation__isnull=True, transcript__isnull=False),
                name="span_on_one_text",
            ),
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="span_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.text!r} ({self.kind_id})"
