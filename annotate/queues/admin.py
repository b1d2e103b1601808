from django.contrib import admin

from annotate.queues.models import Queue, Task


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "priority", "sample_rate", "likely_distressing", "archived")
    list_filter = ("kind", "archived", "likely_distressing")
    filter_horizontal = ("members",)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("clip", "queue", "state", "claimed_by", "lease_expires_at", "created_at")
    list_filter = ("state", "queue")
    list_select_related = ("clip", "queue", "claimed_by")
    raw_id_fields = ("clip", "claimed_by")
