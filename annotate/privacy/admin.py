from django.contrib import admin

from annotate.privacy.models import DeferredClip, PrivacyRequest


class DeferredInline(admin.TabularInline):
    model = DeferredClip
    extra = 0
    can_delete = False
    readonly_fields = ("clip_public_id", "held_until", "created_at", "erased_at")
    fields = readonly_fields


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(admin.ModelAdmin):
    """Read only: requests come from the pipeline (API) or `manage.py privacy_request`."""

    list_display = ("public_id", "kind", "state", "source", "received_at", "completed_at")
    list_filter = ("kind", "state", "source")
    search_fields = ("public_id",)
    exclude = ("account_hash",)
    readonly_fields = ("public_id", "kind", "state", "source", "requested_by", "erased", "received_at", "completed_at")
    inlines = [DeferredInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
