"""Django's database sessions, read with one prepared statement on PostgreSQL.

Every request of a signed-in person reads their session first; the ORM's query building
cost more than the read. Writing, expiry and everything else are Django's
(`django.contrib.sessions.backends.db`).
"""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connection
from django.utils import timezone

from annotate import sql


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        if connection.vendor != "postgresql":
            return super()._get_session_from_db()
        rows = []
        if self.session_key is not None:
            table = self.model._meta.db_table  # the key is a parameter
            rows = sql.prepared(
                f"SELECT session_data FROM {table} WHERE session_key = %(key)s AND expire_date > %(now)s",  # noqa: S608
                {"key": self.session_key, "now": timezone.now()},
            )
        if not rows:
            self._session_key = None
            return None
        return SimpleNamespace(session_data=rows[0][0])
