"""The password backend, reading each request's user with their roles in one query."""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection

from annotate import sql
from annotate.accounts import roles

ARRAY_OF_ROLES = "ARRAY(SELECT g.name FROM {groups} g JOIN {members} ug ON ug.group_id = g.id WHERE ug.user_id = u.id)"


@cache
def _user_with_roles() -> tuple[str, list[str]]:
    """The statement reading a user and an array of their group names (no GROUP BY), and its columns."""
    model = get_user_model()
    fields = list(model._meta.concrete_fields)
    groups = model._meta.get_field("groups").remote_field.through._meta.db_table
    columns = ", ".join(f"u.{connection.ops.quote_name(f.column)}" for f in fields)
    # Table and column names from the models; the id is a parameter.
    names = ARRAY_OF_ROLES.format(groups=Group._meta.db_table, members=groups)
    statement = f"SELECT {columns}, {names} FROM {model._meta.db_table} u WHERE u.id = %(id)s"  # noqa: S608
    return statement, [f.attname for f in fields]


class RolesBackend(ModelBackend):
    """Django's ModelBackend, but the user of a signed-in request comes with the names of their
    groups (roles.has_role's cache), so that a request costs the session's query and this one,
    not three. On SQLite (the demo) has_role reads the groups when first asked."""

    def get_user(self, user_id):
        model = get_user_model()
        if connection.vendor != "postgresql":
            return super().get_user(user_id)
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        statement, names = _user_with_roles()
        rows = sql.prepared(statement, {"id": pk})
        if not rows:
            return None
        user = model.from_db(connection.alias, names, rows[0][:-1])
        if not self.user_can_authenticate(user):
            return None
        roles.remember(user, rows[0][-1])
        return user
