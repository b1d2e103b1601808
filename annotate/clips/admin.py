from django.contrib import admin

from annotate.accounts import roles
from annotate.clips.models import Clip, IngestCount, MachineTranscript, OptOut, SealedIdentity


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = ("public_id", "state", "duration_ms", "locale", "device_type", "intent", "created_at")
    list_filter = ("state", "locale", "device_type")
    search_fields = ("public_id",)
    readonly_fields = ("public_id", "content_sha256", "audio_name", "audio_key_id", "peaks", "asr_error")
    exclude = ()

    def has_add_permission(self, request):
        return False  # clips come in through ingest only


@admin.register(MachineTranscript)
class MachineTranscriptAdmin(admin.ModelAdmin):
    list_display = ("clip", "model_name", "language", "text", "seconds_taken", "created_at")
    list_select_related = ("clip",)
    list_filter = ("model_name",)
    search_fields = ("clip__public_id", "text")
    readonly_fields = ("clip",)


class AdminOnly:
    """Visible to admins only, whatever Django permissions a staff user holds."""

    def _admin(self, request) -> bool:
        return roles.has_role(request.user, roles.ADMIN)

    def has_module_permission(self, request):
        return self._admin(request)

    def has_view_permission(self, request, obj=None):
        return self._admin(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return self._admin(request)


@admin.register(SealedIdentity)
class SealedIdentityAdmin(AdminOnly, admin.ModelAdmin):
    """Shows that a sealed record exists; never its content (unsealing is a case action)."""

    list_display = ("clip", "key_id", "created_at")
    fields = ("clip", "key_id", "created_at")
    readonly_fields = fields


@admin.register(OptOut)
class OptOutAdmin(AdminOnly, admin.ModelAdmin):
    list_display = ("__str__", "created_at")
    fields = ("created_at",)
    readonly_fields = fields


@admin.register(IngestCount)
class IngestCountAdmin(admin.ModelAdmin):
    list_display = ("day", "outcome", "count")
    list_filter = ("outcome",)
