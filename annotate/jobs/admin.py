from django.contrib import admin

from annotate.jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("pk", "key", "queue", "state", "attempts", "max_attempts", "next_attempt_at", "worker")
    list_filter = ("state", "queue")
    search_fields = ("key",)
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
