"""The database backend with the pool on (annotate/postgresql/base.py): a forked child gets
connections of its own. The pool's check of a connection PostgreSQL has ended is tested on
the deployed web (tests/topology/test_web_harness.py)."""

from __future__ import annotations

import os

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def scalar(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_a_forked_child_never_talks_through_its_parents_pooled_connections():
    """A fork copies the pool and its open sockets; a child that borrowed one would share a server
    session with the parent (a test's forked server did: "prepared statement already exists")."""
    assert connection.pool is not None  # the pool is on, as deployed
    before_fork = scalar("SELECT clock_timestamp()")
    connection.close()  # back to the pool, as at the end of a request: the pool keeps it open
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: is its session one started after the fork? Then out.
        status = 1
        try:
            own = scalar("SELECT backend_start > %s FROM pg_stat_activity WHERE pid = pg_backend_pid()", [before_fork])
            os.write(write, b"own" if own else b"inherited")
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read) as answer:
        session = answer.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert session == "own"
    assert scalar("SELECT 1") == 1  # the parent's pooled sessions still answer it
