"""The topology harness itself: a fresh stack serves the login page under the production web
command (uvicorn, two worker processes), a user made for the test signs in, and the test's
redis-server stops and starts on the same port."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.topology


def test_stack_serves_pages_to_its_users_and_its_redis_restarts(stack):
    users = stack.users({"rita": ["reviewer"], "olga": ["officer"], "pipe": ["ingest"]})
    web = stack.web()

    assert stack.client(users["rita"]).get("/").status_code == 200
    assert stack.login("olga").get("/cases/").status_code == 200
    assert users["pipe"].token.startswith("ann_")
    assert stack.sql("SELECT count(*) FROM auth_user")[0][0] == 3

    stack.redis.stop()
    assert not stack.redis.running
    stack.redis.start()
    assert stack.redis.client().ping()
    assert web.alive
