from django.contrib import admin

from annotate.leads.models import Export, SecondOpinion
from annotate.quality.models import ClipAgreement, FinalTranscript
from annotate.queues.models import GoldClip


@admin.register(FinalTranscript)
class FinalTranscriptAdmin(admin.ModelAdmin):
    list_display = ("clip", "source", "decided_by", "decided_at")
    list_filter = ("source",)
    raw_id_fields = ("clip", "annotation", "decided_by")


@admin.register(ClipAgreement)
class ClipAgreementAdmin(admin.ModelAdmin):
    list_display = ("clip", "queue", "reviewers", "agreement", "entity_agreement", "needs_adjudication", "resolved_at")
    list_filter = ("needs_adjudication", "queue")
    raw_id_fields = ("clip",)


@admin.register(GoldClip)
class GoldClipAdmin(admin.ModelAdmin):
    list_display = ("clip", "queue", "active", "created_by", "created_at")
    list_filter = ("active", "queue")
    raw_id_fields = ("clip", "created_by")


@admin.register(SecondOpinion)
class SecondOpinionAdmin(admin.ModelAdmin):
    list_display = ("clip", "asked_by", "created_at", "answered_by", "answered_at")
    raw_id_fields = ("clip", "task", "asked_by", "answered_by")


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ("pk", "format", "queue", "state", "clip_count", "requested_by", "created_at", "expires_at")
    list_filter = ("state", "format")
    readonly_fields = (
        "file_name",
        "size_bytes",
        "error",
        "started_at",
        "finished_at",
        "expires_at",
        "rebuilt_at",
        "withdrawn_count",
    )
