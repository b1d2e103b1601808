"""Django's PostgreSQL backend, with its pool's connections checked without a round trip
(settings: ENGINE "annotate.postgresql" whenever the pool is on).

Django's own check (CONN_HEALTH_CHECKS with the pool) sends an empty query on every
checkout: one more round trip for each request, about 3 % of the web process's CPU in
the reviewer loop (bench/http_loop.py). An idle pooled connection has nothing to read,
unless the server has written to it: when PostgreSQL ends a connection (a restart, a
crash, pg_terminate_backend, idle_session_timeout) it sends an error or just closes
the socket, and either makes the socket readable. So a connection is checked with a
round trip only when its socket is readable or psycopg already knows it is broken;
otherwise it is handed out as it is. A checkout that fails its check is discarded and
the pool gives another, so a restarted PostgreSQL still costs a reconnect, not an
error page (tests/topology/test_web_harness.py).

What this does not see is a connection whose peer vanished without a word (a host
lost from the network), or a flow a middlebox between the web and PostgreSQL dropped
while idle and resets on the next packet: the request's first query fails then, where the
empty query would have failed instead. The TCP keepalive settings (docs/asr.md,
docs/deploy.md: tcp_keepalives_idle) keep such flows alive and find lost hosts.
"""

from __future__ import annotations

import os
import select

from django.db import connections
from django.db.backends.postgresql import base

# Pools a forked child inherited: kept, never used, never closed (see _forget_inherited_pools).
_INHERITED: list = []


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        pool = super().pool
        # Django passes psycopg_pool its own check and refuses a second; psycopg_pool keeps
        # the check in `_check` (psycopg-pool is pinned; tests/topology/test_web_harness.py
        # fails if no check runs).
        if pool is not None and not isinstance(pool._check, _PoolCheck):
            pool._check = _PoolCheck(pool)
        return pool


class _PoolCheck:
    """The pool's check (check_pooled); when a connection fails it, the pool's other idle
    connections are checked at once. After a restart every one of them is dead, and
    psycopg_pool would otherwise hand them out one by one, waiting 1, 2, 4 and 8 s between
    tries: a request would time out (10 s) before it reached a live connection."""

    def __init__(self, pool):
        self.pool = pool

    def __call__(self, conn) -> None:
        try:
            check_pooled(conn)
        except Exception:
            self.pool.check()  # psycopg_pool's public sweep: drops the dead, refills
            raise


def check_pooled(conn) -> None:
    """Raise if `conn` cannot be used; a round trip only if the server has written to it."""
    import psycopg
    from psycopg.pq import ConnStatus
    from psycopg_pool import ConnectionPool

    if conn.closed or conn.pgconn.status != ConnStatus.OK:
        raise psycopg.OperationalError("the pooled connection is closed")
    # poll(), not select(): a web process holding many WebSockets has descriptors above
    # select()'s limit of 1024.
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    if poller.poll(0):  # readable, closed or in error: only a round trip tells which
        ConnectionPool.check_connection(conn)


def _forget_inherited_pools() -> None:
    """In a forked child: a pool of its own, never the parent's connections.

    A fork copies the pool with its open connections, whose sockets the parent goes on
    using: a child that borrowed one would talk to the parent's server sessions, its
    statements interleaved with the parent's (seen as "prepared statement _pg3_0 already
    exists", in a test whose server is a fork). The copies are set aside rather than closed:
    closing one would end the parent's session. The child's first query makes a new pool.
    """
    pools = base.DatabaseWrapper._connection_pools
    _INHERITED.extend(pools.values())
    pools.clear()
    for connection in connections.all(initialized_only=True):
        connection.connection = None


os.register_at_fork(after_in_child=_forget_inherited_pools)
