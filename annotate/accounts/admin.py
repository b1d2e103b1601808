from django.contrib import admin

from annotate.accounts.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with `manage.py create_api_token`; here they can be revoked."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked")
    fields = ("name", "user", "prefix", "created_at", "last_used_at", "revoked")
    readonly_fields = ("name", "user", "prefix", "created_at", "last_used_at")

    def has_add_permission(self, request):
        return False
