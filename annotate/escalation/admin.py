"""Cases in the admin: read-only. Cases move only through the officers' pages, so
every step has its note, its timeline event and its audit row; the admin never
shows an identity (it stays sealed in the clips app)."""

from django.contrib import admin

from annotate.accounts.models import ReviewerCare
from annotate.escalation.models import Case, CaseEvent, EvidenceExport, Flag, UnsealRequest


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class FlagInline(ReadOnly, admin.TabularInline):
    model = Flag
    fields = ("created_at", "reviewer", "category", "severity", "moment_seconds", "note")
    readonly_fields = fields
    extra = 0


class CaseEventInline(ReadOnly, admin.TabularInline):
    model = CaseEvent
    fields = ("at", "actor", "kind", "from_state", "to_state", "note")
    readonly_fields = fields
    extra = 0


@admin.register(Case)
class CaseAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("pk", "severity", "category", "state", "owner", "opened_at", "due_at", "closed_at")
    list_filter = ("state", "severity", "category")
    list_select_related = ("owner",)
    search_fields = ("clip__public_id", "referral_reference")
    inlines = [FlagInline, CaseEventInline]


@admin.register(UnsealRequest)
class UnsealRequestAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("pk", "case", "requested_by", "state", "decided_by", "created_at", "decided_at")
    list_filter = ("state",)


@admin.register(EvidenceExport)
class EvidenceExportAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("pk", "case", "created_by", "created_at", "size", "includes_identity", "key_fingerprint")
    exclude = ("storage_name",)


@admin.register(ReviewerCare)
class ReviewerCareAdmin(admin.ModelAdmin):
    """Registered here so that the accounts app's admin module stays as it is."""

    list_display = ("user", "distressing_daily_cap", "cap_set_by", "opted_out_of_distressing", "updated_at")
    list_select_related = ("user", "cap_set_by")
    readonly_fields = ("cap_set_by", "cap_set_at", "break_until", "updated_at")
