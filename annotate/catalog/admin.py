"""The catalog in the admin: kinds and entities are edited here; spans and mining batches are shown.

Every change to a kind or an entity calls services.bump_version, so the search
index of every process is rebuilt at its next search.
"""

from django.contrib import admin

from annotate.catalog import services
from annotate.catalog.models import Entity, EntityKind, EntitySpan, MiningBatch


class BumpsCatalogVersion:
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.bump_version()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.bump_version()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.bump_version()


@admin.register(EntityKind)
class EntityKindAdmin(BumpsCatalogVersion, admin.ModelAdmin):
    list_display = ("slug", "name", "linkable", "position")
    list_editable = ("name", "linkable", "position")


@admin.register(Entity)
class EntityAdmin(BumpsCatalogVersion, admin.ModelAdmin):
    list_display = ("name", "kind", "popularity", "updated_at")
    list_filter = ("kind",)
    list_select_related = ("kind",)
    search_fields = ("name", "search_text")
    readonly_fields = ("name_key", "search_text", "created_at", "updated_at")
    ordering = ("-popularity", "name")


@admin.register(EntitySpan)
class EntitySpanAdmin(admin.ModelAdmin):
    list_display = ("text", "kind", "entity", "not_in_catalog_name", "needs_recheck", "source", "created_at")
    list_filter = ("kind", "source", "needs_recheck")
    list_select_related = ("kind", "entity")
    raw_id_fields = ("annotation", "transcript", "entity", "batch", "created_by")

    def has_add_permission(self, request):
        return False  # spans come from the review page and from mining


@admin.register(MiningBatch)
class MiningBatchAdmin(admin.ModelAdmin):
    list_display = ("phrase", "kind", "entity", "created_count", "created_by", "created_at", "undone_at")
    list_select_related = ("kind", "entity", "created_by")
    readonly_fields = [f.name for f in MiningBatch._meta.fields]

    def has_add_permission(self, request):
        return False
