from django.contrib import admin

from annotate.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only."""

    list_display = ("at", "actor", "action", "clip_public_id", "ip")
    list_filter = ("action",)
    search_fields = ("clip_public_id", "actor__username")
    list_select_related = ("actor",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
