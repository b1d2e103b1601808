"""The topology harness itself: a fresh stack serves the login page under the production web
command (uvicorn, two worker processes), a user made for the test signs in, and the test's
redis-server stops and starts on the same port. When PostgreSQL ends the web's pooled
connections under it (as a restart does), with the pools grown by concurrent requests, the
next requests are answered, not given an error page: a connection the server has written to
is checked before it is used, and the first one found dead has the pool check all its idle
ones (annotate/postgresql/base.py); psycopg_pool alone handed them out one at a time, with
waits between, until the request timed out."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.topology


def test_stack_serves_pages_to_its_users_and_its_redis_restarts(stack):
    users = stack.users({"rita": ["reviewer"], "olga": ["officer"], "pipe": ["ingest"]})
    web = stack.web()

    assert stack.client(users["rita"]).get("/").status_code == 200
    assert stack.login("olga").get("/cases/").status_code == 200
    assert users["pipe"].token.startswith("ann_")
    assert stack.sql("SELECT count(*) FROM auth_user")[0][0] == 3

    def pages(_: int) -> list[int]:
        client = stack.client(users["rita"])
        return [client.get("/").status_code for _ in range(10)]

    with ThreadPoolExecutor(16) as threads:  # the pools grow past one connection each
        assert all(codes == [200] * 10 for codes in threads.map(pages, range(16)))
    assert stack.connection_count() > 4
    stack.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    rita = stack.client(users["rita"])
    assert [rita.get("/").status_code for _ in range(12)] == [200] * 12

    stack.redis.stop()
    assert not stack.redis.running
    stack.redis.start()
    assert stack.redis.client().ping()
    assert web.alive
