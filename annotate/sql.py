"""Hand-written statements of the hot path, prepared on PostgreSQL.

`prepared()` runs a statement with server-side parameters, so that psycopg prepares it
after ANNOTATE_DB_PREPARE_AFTER runs on a connection (settings): PostgreSQL then parses
it once per connection instead of on every request. For the statements of every
reviewer request (the session, the user with their roles, the claim, the submit's
finish), parsing and Django's query building cost more than the database's work:
prepared, the claim statement took 4 ms in process instead of 11 on a 2-core machine,
and the session's and the user's reads 0.5 ms instead of 1. Each still goes through
Django's cursor wrapper, for its error classes and its query log. Behind
PgBouncer in transaction mode: PgBouncer 1.21 or later with max_prepared_statements
set (README). PostgreSQL only: each caller keeps its own way for SQLite (the demo).
"""

from __future__ import annotations

import re
from functools import lru_cache

from django.db import connection

_PLACEHOLDER = re.compile(r"%%|%\((\w+)\)s")


@lru_cache(maxsize=128)
def _numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """`sql` with its %(name)s parameters as $1, $2… (and %% as %), and the names in that order.

    psycopg parses a statement's %(name)s placeholders on every run once the statement is
    longer than 4096 characters (the claim is 6.5k): done here once per statement, the run
    goes through psycopg's RawCursor, which sends the text as it is.
    """
    names: list[str] = []

    def number(match: re.Match) -> str:
        if match.group(1) is None:
            return "%"
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return _PLACEHOLDER.sub(number, sql), tuple(names)


def prepared(sql: str, params: dict) -> list[tuple]:
    """The rows of `sql` (with %(name)s parameters), on PostgreSQL."""
    import psycopg

    text, names = _numbered(sql)
    connection.ensure_connection()
    raw = psycopg.RawCursor(connection.connection)
    cursor = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    with cursor:
        cursor.execute(text, [params[name] for name in names])
        rows = cursor.fetchall()
    if connection.queries_logged and connection.queries_log:
        connection.queries_log[-1]["sql"] = sql  # the statement as written, not its numbered form
    return rows


_INSERTS: dict[type, tuple[str, list]] = {}


def insert(instance) -> None:
    """Store a new model instance with one prepared INSERT … RETURNING its id (PostgreSQL).

    What Model.save() stores for a new row (each field's pre_save, so auto_now_add is set,
    and its database value), without the ORM's query building on every call: the statement
    is built once per model. No save signals are sent; use it only for models nothing listens
    to (the submit's annotation). On SQLite (the demo): Model.save().
    """
    from django.db.models import AutoField

    if connection.vendor != "postgresql":
        instance.save(force_insert=True)
        return
    model = type(instance)
    if model not in _INSERTS:
        fields = [f for f in model._meta.concrete_fields if not isinstance(f, AutoField) and not f.generated]
        if any(f.has_db_default() for f in fields):
            raise TypeError(f"sql.insert does not fill database defaults: {model.__name__} has one; use save()")
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        values = ", ".join(f"%({f.attname})s" for f in fields)
        pk = connection.ops.quote_name(model._meta.pk.column)
        table = connection.ops.quote_name(model._meta.db_table)
        # Names from the model's own fields, never from input; the values are parameters.
        statement = f"INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING {pk}"  # noqa: S608
        _INSERTS[model] = (statement, fields)
    sql, fields = _INSERTS[model]
    params = {f.attname: f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields}
    ((pk,),) = prepared(sql, params)
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
