"""The database backend with the pool on (annotate/postgresql/base.py): a forked child gets
connections of its own. The pool's check of a connection PostgreSQL has ended is tested on
the deployed web (tests/topology/test_web_harness.py)."""

from __future__ import annotations

import os
import resource
import time
from contextlib import contextmanager

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


@contextmanager
def descriptors_above(limit: int):
    """Open /dev/null until the next descriptor is above `limit` (raising the soft limit as needed)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limit + 64
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.fail(f"the hard limit of open files ({hard}) is below {wanted}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    opened = []
    try:
        while not opened or opened[-1] < limit:
            opened.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in opened:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_pools_check_works_on_descriptors_above_select_s_limit():
    """A web process holding many WebSockets has sockets numbered above 1024, where select() fails:
    the check must still pass a sound connection and refuse one PostgreSQL has ended."""
    import psycopg

    from annotate.postgresql.base import check_pooled

    db = connection.settings_dict
    with descriptors_above(1100):
        conn = psycopg.connect(
            dbname=db["NAME"], user=db["USER"], host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, autocommit=True
        )
        try:
            assert conn.fileno() > 1024
            check_pooled(conn)  # sound: no error, no round trip needed
            scalar("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
            for _ in range(50):  # the server's goodbye arrives in a moment
                try:
                    check_pooled(conn)
                except psycopg.Error:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("an ended connection passed the check")
        finally:
            conn.close()
