"""Fixtures of the deployed-topology tests (marker `topology`): real processes started with
the README's commands against a PostgreSQL database and a redis-server of their own.

- `stack`: a fresh database (copied from a template migrated once per session), its own
  redis-server (`stack.redis`, the same object as the `redis_server` fixture), private
  folder and keys; `stack.web()`, `stack.worker("asr")`, `stack.manage(...)`,
  `stack.sql(...)`, `stack.users({...})`, `stack.client(user)`. See tests/topology/stack.py.
- `redis_server`: the test's own redis-server on a spare port: `.url`, `.port`, `.stop()`,
  `.start()`.
- `processes`: start any command (e.g. `make demo`) with its log kept and ended at teardown.

These tests never touch pytest-django's test database. When one fails, the last lines of
every process it started are added to the report.
"""

from __future__ import annotations

import functools
import subprocess

import pytest

from tests.topology.stack import (
    BASE_DIR,
    BIN,
    POSTGRES_SERVER,
    Process,
    Processes,
    RedisServer,
    Stack,
    clean_env,
    create_database,
    database_name,
    drop_database,
    drop_stale_databases,
)

STARTED = pytest.StashKey[list]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        for process in item.stash.get(STARTED, []):
            if isinstance(process, Process):
                report.sections.append((f"log of {process.name} (pid {process.pid})", process.log_tail()))
            else:  # the redis-server
                report.sections.append(("log of redis-server", process.log_text()[-4000:]))
    return report


def _register(request, thing) -> None:
    request.node.stash.setdefault(STARTED, []).append(thing)


@pytest.fixture(scope="session")
def topology_template(tmp_path_factory):
    """A database migrated once per session; each test's database is a copy of it."""
    drop_stale_databases()
    name = database_name("tpl")
    create_database(name)
    var = tmp_path_factory.mktemp("template-var")
    env = clean_env(DATABASE_URL=f"{POSTGRES_SERVER}/{name}", ANNOTATE_VAR_DIR=str(var))
    try:
        result = subprocess.run(
            [str(BIN / "python"), "manage.py", "migrate", "--no-input"],
            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"migrate failed:\n{result.stdout}\n{result.stderr}"
        yield name
    finally:
        drop_database(name)


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory):
    """A function returning STATIC_ROOT after `manage.py collectstatic --no-input` (run once, on first call)."""

    @functools.cache
    def collect():
        root = tmp_path_factory.mktemp("staticfiles")
        env = clean_env(ANNOTATE_STATIC_ROOT=str(root), ANNOTATE_VAR_DIR=str(tmp_path_factory.mktemp("static-var")))
        result = subprocess.run(
            [str(BIN / "python"), "manage.py", "collectstatic", "--no-input"],
            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"collectstatic failed:\n{result.stdout}\n{result.stderr}"
        return root

    return collect


@pytest.fixture
def redis_server(request, tmp_path):
    server = RedisServer(tmp_path / "redis")
    _register(request, server)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def processes(request, tmp_path):
    started = Processes(tmp_path, on_start=lambda process: _register(request, process))
    yield started
    started.stop_all()


@pytest.fixture
def stack(request, tmp_path, topology_template, redis_server, collected_static):
    name = database_name("db")
    create_database(name, template=topology_template)
    built = Stack(
        tmp_path / "stack",
        db_name=name,
        redis=redis_server,
        static_root=collected_static,
        on_start=lambda process: _register(request, process),
    )
    try:
        yield built
    finally:
        built.stop()
        drop_database(name)
