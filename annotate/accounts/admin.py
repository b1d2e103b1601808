from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied

from annotate.accounts import roles, services
from annotate.accounts.models import ApiToken, RoleGrant
from annotate.web import client_ip


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with `manage.py create_api_token`; here they can be revoked."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked")
    fields = ("name", "user", "prefix", "created_at", "last_used_at", "revoked")
    readonly_fields = ("name", "user", "prefix", "created_at", "last_used_at")

    def has_add_permission(self, request):
        return False


# --- roles: granted through RoleGrant (two admins for officer and admin), never on the user form ----

User = get_user_model()


class GuardedUserAdmin(UserAdmin):
    """Django's user admin, with roles and admin flags read-only: they change through Role grants."""

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "groups", "is_staff", "is_superuser", "user_permissions")

    def user_change_password(self, request, id, form_url=""):
        """No admin sets an officer's or another admin's password: that would be taking over the second pair of eyes."""
        user = self.get_object(request, unquote(id))
        if (
            user is not None
            and user.pk != request.user.pk
            and (user.is_superuser or user.groups.filter(name__in=services.PRIVILEGED).exists())
        ):
            raise PermissionDenied("an officer's or admin's password is changed only by its owner")
        return super().user_change_password(request, id, form_url)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, GuardedUserAdmin)


class RoleGrantForm(forms.ModelForm):
    role = forms.ChoiceField(choices=[(r, r) for r in services.GRANTABLE])

    class Meta:
        model = RoleGrant
        fields = ("user", "role", "reason")

    def __init__(self, *args, admin_user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.admin_user = admin_user

    def clean(self):
        data = super().clean()
        user, role = data.get("user"), data.get("role")
        if not roles.has_role(self.admin_user, roles.ADMIN):
            raise forms.ValidationError("only admins grant roles")
        if user is not None and role:
            if services.holds(user, role):
                raise forms.ValidationError(f"{user} already holds the {role} role")
            if RoleGrant.objects.filter(user=user, role=role, state=RoleGrant.State.PENDING).exists():
                raise forms.ValidationError(f"a grant of the {role} role to {user} is already waiting")
        return data


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    """Request a role here; officer and admin wait for a second admin's "confirm" (the action)."""

    list_display = ("user", "role", "state", "requested_by", "requested_at", "confirmed_by", "confirmed_at")
    list_filter = ("state", "role")
    actions = ("confirm_selected", "refuse_selected")

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, **kwargs)
        form = RoleGrantForm

        class BoundForm(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, admin_user=request.user, **kw)

        return BoundForm

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return [f.name for f in RoleGrant._meta.fields]

    def save_model(self, request, obj, form, change):
        if change:
            return
        grant = services.request_grant(
            admin=request.user, user=obj.user, role=obj.role, reason=obj.reason, ip=client_ip(request)
        )
        obj.pk = grant.pk
        if grant.state == RoleGrant.State.PENDING:
            self.message_user(request, f"Waiting for a second admin to confirm the {grant.role} role for {grant.user}.")

    def has_delete_permission(self, request, obj=None):
        return False

    def _decide(self, request, queryset, decide, done: str) -> None:
        for grant in queryset.filter(state=RoleGrant.State.PENDING):
            try:
                decide(admin=request.user, grant_id=grant.pk, ip=client_ip(request))
            except services.RoleError as exc:
                self.message_user(request, f"{grant}: {exc}", level=messages.ERROR)
            else:
                self.message_user(request, f"{grant.role} for {grant.user}: {done}")

    @admin.action(description="Confirm the selected role grants (as the second admin)")
    def confirm_selected(self, request, queryset):
        self._decide(request, queryset, services.confirm_grant, "confirmed")

    @admin.action(description="Refuse the selected role grants")
    def refuse_selected(self, request, queryset):
        self._decide(request, queryset, services.refuse_grant, "refused")
