"""Shared test set-up: fast settings, a private storage folder per test, named
personas, a queue, a fresh catalog, the canary identity, one headless Chromium
(`browser`), and the switch for tests that need a service.

The toolbox is this file, tests/support.py (helpers: post_json, as_user, in_thread,
built_once for a role matrix's world, manifests, the canary) and tests/factories.py
(data as the services leave it: clips, queues, catalogs, held clips, flags, cases).
A test module imports from these three only, never from another test module.

Services: tests marked `postgres`, `redis`, `browser` or `topology` are skipped when the
service is missing, or fail when ANNOTATE_REQUIRE_SERVICES=1 (CI), so a CI run
can never turn green by quietly skipping them.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from annotate.accounts import roles
from annotate.accounts.models import ApiToken
from annotate.catalog import index as catalog_index
from annotate.catalog.kinds import seed_kinds
from annotate.catalog.models import EntityKind
from annotate.queues.models import Queue
from tests.factories import make_queue
from tests.support import (
    CANARY,
    CHROMIUM_ARGS,
    Canary,
    make_persona,
    make_user,
    moto_s3,
    needs_second_factor,
    verify_otp,
)

CHROMIUM = Path("/usr/bin/chromium")


def pytest_configure(config):
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _let_flush_empty_the_audit_log()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Some tests run threads that each hold a connection for their whole life (claim races),
    # unlike requests, which give theirs back to the pool: room for all of them.
    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    if pool:
        pool["max_size"] = max(pool["max_size"], 40)
    # The manifest storage needs `collectstatic` first; in-process tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _let_flush_empty_the_audit_log() -> None:
    """A transactional test's flush TRUNCATEs every table, which the audit log refuses (a trigger). The test
    database's user is a superuser: its flush runs with triggers off (session_replication_role = replica),
    which only a superuser may set; the app's role in production cannot (README, production)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    sql_flush = DatabaseOperations.sql_flush

    def flush_with_triggers_off(self, style, tables, **kwargs):
        statements = sql_flush(self, style, tables, **kwargs)
        return ["SET LOCAL session_replication_role = replica", *statements] if statements else statements

    DatabaseOperations.sql_flush = flush_with_triggers_off


# --- services ---------------------------------------------------------------------


def services_required() -> bool:
    return os.environ.get("ANNOTATE_REQUIRE_SERVICES", "") == "1"


def _postgres_missing() -> str | None:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        return f"needs PostgreSQL: set DATABASE_URL=postgres://... (the default database is {engine})"
    return None


@functools.cache
def _redis_missing() -> str | None:
    from django.conf import settings

    if not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://... (it is unset)"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return f"needs Redis: REDIS_URL={settings.REDIS_URL} does not answer PING ({exc})"
    return None


@functools.cache
def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"needs headless Chromium at {CHROMIUM}"
    if importlib.util.find_spec("playwright") is None:
        return "needs Playwright (pip install playwright)"
    return None


@functools.cache
def _topology_missing() -> str | None:
    """Topology tests start their own redis-server and create databases on the PostgreSQL server."""
    import shutil

    from tests.topology.stack import postgres_missing

    if shutil.which("redis-server") is None:
        return "needs the redis-server binary on PATH (apt-get install redis-server)"
    return postgres_missing()


@functools.cache
def _s3_missing() -> str | None:
    from tests.support import MOTO_SERVER

    if not MOTO_SERVER.exists():
        return f"needs moto's S3 server at {MOTO_SERVER} (pip install 'moto[server]': requirements-dev.txt)"
    return None


SERVICE_CHECKS = {
    "s3": _s3_missing,
    "postgres": _postgres_missing,
    "redis": _redis_missing,
    "browser": _browser_missing,
    "topology": _topology_missing,
}


def pytest_runtest_setup(item):
    for marker, missing in SERVICE_CHECKS.items():
        if item.get_closest_marker(marker) is None:
            continue
        reason = missing()
        if reason is None:
            continue
        if services_required():
            pytest.fail(f"{reason} — ANNOTATE_REQUIRE_SERVICES=1 makes this a failure", pytrace=False)
        pytest.skip(reason)


# --- settings and storage ---------------------------------------------------------------


@pytest.fixture(autouse=True, scope="session")
def force_login_gives_the_second_factor():
    """`client.force_login(user)` signs in as a user who also gave their code (MFA stays on),
    through the backend a password sign-in records.

    Leads, officers and admins need a second factor (annotate/accounts/mfa.py); a test
    that signs one in with force_login means "a signed-in, verified user". Tests of the
    code step itself sign in with the password (`client.login`), which this leaves alone.
    """
    from django.test import Client

    plain = Client.force_login

    def force_login(self, user, backend=None):
        # The backend a password sign-in records (the first one, axes' check, never signs anyone in).
        plain(self, user, backend or "annotate.accounts.backends.RolesBackend")
        if needs_second_factor(user):
            verify_otp(self, user)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Client, "force_login", force_login)
        yield


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path) -> Path:
    """Each test stores its (encrypted) audio in its own folder, returned here."""
    folder = tmp_path / "private"
    folder.mkdir()
    storages = {name: dict(conf) for name, conf in settings.STORAGES.items()}
    storages["default"] = {
        **storages["default"],
        "OPTIONS": {**storages["default"]["OPTIONS"], "location": str(folder)},
    }
    settings.STORAGES = storages  # setting_changed resets django's default_storage
    return folder


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's standalone S3 server, one for the session (each test takes a bucket of its own). Its tests
    carry the marker `s3`, which skips them without moto, or fails them when services are required."""
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(settings, s3_endpoint) -> str:
    """This test's storage is a fresh bucket on the S3 endpoint; returns its name."""
    bucket = s3_endpoint.new_bucket()
    settings.STORAGES = {**settings.STORAGES, "default": s3_endpoint.storage_setting(bucket)}
    return bucket


# --- personas -------------------------------------------------------------------------


@pytest.fixture
def reviewer(db) -> User:
    return make_persona("reviewer")


@pytest.fixture
def other_reviewer(db) -> User:
    return make_persona("other_reviewer")


@pytest.fixture
def lead(db) -> User:
    return make_persona("lead")


@pytest.fixture
def officer(db) -> User:
    return make_persona("officer")


@pytest.fixture
def second_officer(db) -> User:
    return make_persona("second_officer")


@pytest.fixture
def admin_user(db) -> User:
    return make_persona("admin_user")


@pytest.fixture
def outsider(db) -> User:
    return make_persona("outsider")


@pytest.fixture
def personas(reviewer, other_reviewer, lead, officer) -> dict:
    """Each role's user by name ("anonymous": None), for the role matrices."""
    return {"reviewer": reviewer, "other_reviewer": other_reviewer, "lead": lead, "officer": officer, "anonymous": None}


@pytest.fixture
def queue(reviewer, other_reviewer) -> Queue:
    """A queue of every clip, reviewed by the reviewer and the second reviewer."""
    return make_queue(reviewer, other_reviewer)


@pytest.fixture
def ingest_client(db) -> tuple[User, str]:
    """The upstream pipeline's service account and its bearer token."""
    user = make_user("pipeline", roles.INGEST)
    _, token = ApiToken.issue(user=user, name="upstream pipeline")
    return user, token


@pytest.fixture
def canary() -> Canary:
    return CANARY


# --- Redis and RQ ---------------------------------------------------------------------------


def _empty_rq_queues() -> None:
    import django_rq
    from django.conf import settings

    for name in settings.RQ_QUEUE_NAMES:
        queue = django_rq.get_queue(name)
        queue.empty()
        for registry in (
            queue.started_job_registry,
            queue.finished_job_registry,
            queue.failed_job_registry,
            queue.deferred_job_registry,
            queue.scheduled_job_registry,
            queue.canceled_job_registry,
        ):
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)
        for key in queue.connection.scan_iter(f"annotate:kick:{name}:*"):  # the marks of waiting kicks
            queue.connection.delete(key)


@pytest.fixture
def rq_queues():
    """Empty RQ queues and registries before and after the test (CI: REDIS_URL=.../15)."""
    _empty_rq_queues()
    yield
    _empty_rq_queues()


# --- the entity catalog ----------------------------------------------------------------------


@pytest.fixture
def fresh_catalog(db):
    """The seeded entity kinds (a transactional test elsewhere may have flushed them) and an empty search index."""
    seed_kinds(EntityKind)
    catalog_index.forget()
    yield
    catalog_index.forget()


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture
def chromium_args() -> list[str]:
    """Chromium's command line; a module overrides this fixture to add to it."""
    return list(CHROMIUM_ARGS)


@pytest.fixture
def browser(monkeypatch, chromium_args):
    """Headless Chromium through Playwright, closed after the test (mark the test `browser`).

    Request it after the fixtures that start servers or processes (a fork must not copy
    Playwright's state). Playwright's sync API keeps an event loop running in this thread;
    the test's own ORM calls are plain synchronous code all the same.
    """
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=chromium_args, headless=True)
        try:
            yield browser
        finally:
            browser.close()
