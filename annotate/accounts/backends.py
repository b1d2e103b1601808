"""The password backend, reading each request's user with their roles in one query."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef

from annotate.accounts import roles


class RolesBackend(ModelBackend):
    """Django's ModelBackend, but the user of a signed-in request comes with the names of their
    groups (roles.has_role's cache), so that a request costs the session's query and this one,
    not three. On SQLite (the demo) has_role reads the groups when first asked."""

    def get_user(self, user_id):
        users = get_user_model()._default_manager.filter(pk=user_id)
        if connection.vendor == "postgresql":  # an array of the group names beside the row: no GROUP BY
            users = users.annotate(role_names=ArraySubquery(Group.objects.filter(user=OuterRef("pk")).values("name")))
        user = users.first()
        if user is None or not self.user_can_authenticate(user):
            return None
        if hasattr(user, "role_names"):
            roles.remember(user, user.role_names)
        return user
