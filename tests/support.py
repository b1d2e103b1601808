"""Helpers shared by the test modules: users, JSON requests, test recordings, manifests, the canary identity.

The toolbox of the suite: this module (plain helpers), tests/factories.py (data built
through the real services) and tests/conftest.py (personas, the Chromium fixture).
No test module imports another.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connections, transaction
from django.test import Client, override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from annotate.accounts import mfa, role_guard, roles

T = TypeVar("T")

FIXTURES = Path(__file__).parent / "fixtures"
AUDIO = FIXTURES / "audio"
PASSWORD = "correct horse battery staple"
# Debian's Chromium, headless, as root, with no network but the loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


# The named personas of the suite (tests/conftest.py makes one per fixture of the same name).
PERSONAS: dict[str, tuple[str, tuple[str, ...], dict]] = {
    "reviewer": ("rita", (roles.REVIEWER,), {}),
    "other_reviewer": ("ravi", (roles.REVIEWER,), {}),
    "lead": ("lena", (roles.LEAD,), {}),
    "officer": ("olga", (roles.OFFICER,), {}),
    "second_officer": ("omar", (roles.OFFICER,), {}),
    "admin_user": ("ada", (roles.ADMIN,), {"is_staff": True, "is_superuser": True}),
    "outsider": ("otto", (), {}),
}


def make_persona(who: str) -> User:
    username, groups, fields = PERSONAS[who]
    return make_user(username, *groups, **fields)


def make_user(username: str, *groups: str, **fields) -> User:
    """A user in `groups`, made past the role net (role_guard) without audit rows, as a test's setup.

    In the product, roles change only through annotate.accounts.services (two admins for
    officer and admin); tests of that flow call the services themselves.
    """
    with role_guard.sanctioned("setup:tests"):
        user = User.objects.create_user(username=username, password=PASSWORD, **fields)
        if groups:
            # get_or_create: migration 0002 makes the groups, but a transactional test's flush removes them.
            user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in groups))
    return user


def as_user(client: Client, user: User | None) -> Client:
    """The client signed in as `user` (with the second factor given, where their role needs one); None: anonymous."""
    if user is not None:
        client.force_login(user)
        if needs_second_factor(user):
            verify_otp(client, user)
    return client


def open_review_page(page, base_url: str, user: User, queue_id: int) -> None:
    """Sign the browser page in as a reviewer through the login form, straight into the queue's
    review page, and wait until it shows a clip (the user has PASSWORD: make_user)."""
    page.goto(f"{base_url}/login/?next=/review/{queue_id}/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/review/{queue_id}/")
    page.wait_for_selector("#review[data-ready=true]")


def signed_in_page(browser, base_url: str, user: User):
    """A new browser context signed in as `user` (a session made by force_login, given as its
    cookie): (the context, a page of it, the list its page errors are added to)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(base_url=base_url)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


def needs_second_factor(user: User) -> bool:
    """Does the user's role need a code at sign-in? (Without leaving roles cached on the object.)"""
    cached = user.__dict__.get("_annotate_roles")
    try:
        return mfa.mfa_required(user)
    finally:
        if cached is None:
            user.__dict__.pop("_annotate_roles", None)


def authenticator(user: User) -> TOTPDevice:
    """The user's confirmed TOTP authenticator (made once), as enrolment leaves it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name=mfa.AUTHENTICATOR_NAME, confirmed=True)


def current_code(device: TOTPDevice, steps_later: int = 0) -> str:
    """The code the authenticator app shows now (or `steps_later` 30-second steps on: a code is taken once)."""
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=steps_later)
    return f"{code:0{device.digits}d}"


def verify_otp(client: Client, user: User) -> None:
    """Mark the client's session as having passed the code step with the user's authenticator."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = authenticator(user).persistent_id
    session.save()


def post_json(client: Client, url: str, body: object = None, **extra):
    """POST `body` (an empty object when None) as JSON, as the pages' scripts do."""
    return client.post(url, json.dumps({} if body is None else body), content_type="application/json", **extra)


def get_json(client: Client, url: str):
    return client.get(url, HTTP_ACCEPT="application/json")


def in_thread(fn: Callable[[], T]) -> T:
    """Database work beside Playwright's sync API (which keeps an event loop in this thread)."""

    def run() -> T:
        try:
            return fn()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@contextmanager
def built_once(django_db_blocker, folder: Path | None = None) -> Iterator[None]:
    """Data shared by several tests (a role matrix's world), built once and rolled back after the last.

    Use it in a class- or module-scoped fixture: what is built inside this block is
    kept in an open transaction; each test still runs in its own savepoint within it
    (pytest-django's `db`), so what a test writes is undone before the next test, as
    usual. Blocks nest (a world, then each endpoint's data in it). Audio is stored in
    `folder` when given, which the tests must also use (override the `private_storage`
    fixture to return it). Only for tests that are not transactional (`django_db`
    without transaction=True).
    """
    storage = nullcontext()
    if folder is not None:
        storages = {name: dict(conf) for name, conf in settings.STORAGES.items()}
        options = {**storages["default"]["OPTIONS"], "location": str(folder)}
        storages["default"] = {**storages["default"], "OPTIONS": options}
        storage = override_settings(STORAGES=storages)
    with storage:
        with django_db_blocker.unblock():
            atomic = transaction.atomic()
            atomic.__enter__()
        try:
            yield
        finally:
            with django_db_blocker.unblock():
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)


def stored_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# --- clip metadata and the canary identity -----------------------------------------------


@dataclass(frozen=True)
class Canary:
    """Identity values that must never show up anywhere but the sealed record."""

    account_id: str = "ACCT-CANARY-7731"
    first_name: str = "Zebulonia"
    device_serial: str = "SERIAL-CANARY-99"

    @property
    def values(self) -> tuple[str, str, str]:
        return (self.account_id, self.first_name, self.device_serial)

    def meta(self, **overrides) -> dict:
        identity = {"account_id": self.account_id, "first_name": self.first_name, "device_serial": self.device_serial}
        return clip_meta(**{**identity, **overrides})

    def found_in(self, text: str | bytes) -> list[str]:
        """The canary values present in `text` (case-insensitive): should be []."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        lowered = text.lower()
        return [value for value in self.values if value.lower() in lowered]


CANARY = Canary()


def clip_meta(**overrides) -> dict:
    """A valid manifest object (without "audio")."""
    meta = {
        "captured_at": "2026-11-20T14:03:11+00:00",
        "locale": "en-US",
        "device_type": "speaker",
        "heard": "set a timer for ten minutes",
        "response": "Ten minutes, starting now",
        "intent": "SetTimer",
        "wake_word_score": 0.91,
        "account_id": "ACCT-0000-0001",
        "first_name": "Sam",
        "device_serial": "G090LF0000000001",
        "opted_out": False,
    }
    meta.update(overrides)
    return meta


def write_manifest(path: Path, lines: list[dict | str]) -> Path:
    """A JSONL manifest; a str line is written as is (for bad JSON)."""
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


# --- the browser: what a page costs on the wire, and what axe-core finds -----------------

AXE_JS = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"  # npm devDependency, pinned
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# Experimental in axe (so off by default) but named in issue 13: a control's accessible
# name must contain its visible text, or speech users cannot say what they see.
AXE_EXTRA_RULES = ["label-content-name-mismatch"]
AXE_BLOCKING = ("serious", "critical")


@dataclass(frozen=True)
class Transfer:
    url: str
    kind: str  # Chromium's resource type: Document, Script, Stylesheet, Fetch, Media, …
    mime: str
    encoding: str  # the response's Content-Encoding ("" when sent as is)
    body: int  # bytes of the decoded body
    wire: int  # bytes received, headers included (DevTools' "transferred")

    @property
    def is_audio(self) -> bool:
        return self.mime.startswith("audio/") or "/audio/" in self.url


class Transfers:
    """Every response a page receives, counted by Chromium itself (the DevTools protocol).

    Make it before the navigation to measure (`Transfers(page)`), then read `.done`. A
    new browser context has an empty cache: every byte the page needs is counted.
    """

    def __init__(self, page) -> None:
        self._responses: dict[str, dict] = {}
        self._bodies: dict[str, int] = {}
        self._wire: dict[str, int] = {}
        session = page.context.new_cdp_session(page)
        session.on("Network.responseReceived", self._response)
        session.on("Network.dataReceived", self._data)
        session.on("Network.loadingFinished", self._finished)
        session.send("Network.enable")

    def _response(self, event: dict) -> None:
        response = event["response"]
        headers = {name.lower(): value for name, value in response.get("headers", {}).items()}
        self._responses[event["requestId"]] = {
            "url": response["url"],
            "kind": event.get("type", ""),
            "mime": response.get("mimeType", ""),
            "encoding": headers.get("content-encoding", ""),
        }

    def _data(self, event: dict) -> None:
        self._bodies[event["requestId"]] = self._bodies.get(event["requestId"], 0) + event["dataLength"]

    def _finished(self, event: dict) -> None:
        self._wire[event["requestId"]] = int(event["encodedDataLength"])

    @property
    def done(self) -> list[Transfer]:
        return [
            Transfer(**self._responses[rid], body=self._bodies.get(rid, 0), wire=wire)
            for rid, wire in self._wire.items()
            if rid in self._responses
        ]

    def besides_audio(self) -> int:
        return sum(t.wire for t in self.done if not t.is_audio)

    def table(self) -> str:
        """One line per response (transferred, decoded body), largest first, then the total besides audio."""
        done = sorted(self.done, key=lambda t: -t.wire)
        lines = [
            f"{t.wire / 1024:8.1f} KB {t.body / 1024:8.1f} KB  {t.encoding or '-':5} {t.kind:10} {t.url}" for t in done
        ]
        audio = sum(t.wire for t in done if t.is_audio)
        lines.append(f"{self.besides_audio() / 1024:8.1f} KB transferred besides audio ({len(done)} responses)")
        lines.append(f"{audio / 1024:8.1f} KB of audio (not counted)")
        return "\n".join(lines)


AXE_RUN = """async ([context, tags, extra]) => {
  const rules = Object.fromEntries(extra.map((id) => [id, {enabled: true}]));
  const result = await window.axe.run(context || document, {runOnly: {type: "tag", values: tags}, rules});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), html: n.html.slice(0, 160), why: n.failureSummary})),
  }));
}"""


def axe_violations(page, context: str | None = None) -> tuple[list[dict], list[dict]]:
    """axe-core's findings on the page as it is now (WCAG 2.2 A and AA, best practices): (serious or critical, others).

    Playwright adds node_modules/axe-core/axe.min.js to the page. The page's
    Content-Security-Policy admits only scripts with its nonce: make the browser
    context with bypass_csp=True.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    found = page.evaluate(AXE_RUN, [context, AXE_TAGS, AXE_EXTRA_RULES])
    blocking = [v for v in found if v["impact"] in AXE_BLOCKING]
    return blocking, [v for v in found if v["impact"] not in AXE_BLOCKING]


def describe_violations(violations: list[dict]) -> str:
    return "\n".join(
        f"[{v['impact']}] {v['id']}: {v['help']}\n" + "\n".join(f"    {n['target']}: {n['html']}" for n in v["nodes"])
        for v in violations
    )


# --- a web server in a process of its own ------------------------------------------------


SERVER_APP_NAME = "annotate-test-server"  # its database sessions are named so (libpq's PGAPPNAME)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def daphne_process(**env: str) -> Iterator[Callable[[], str]]:
    """Channels' runserver (Daphne) in a process on the test database (PostgreSQL), static files from
    the source folders (--insecure, plain names); `env` adds settings (say ANNOTATE_PRIVATE_ROOT).

    Yields a function that waits until the server answers and returns its URL, so the caller may work
    while it boots. On exit the process stops and its database sessions, which may outlive it a moment,
    are ended: only those, so this process's own pooled sessions and a live server's live on.
    """
    db = connections["default"].settings_dict
    port = free_port()
    environ = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "annotate.settings",
        "ANNOTATE_STATIC_MANIFEST": "0",
        "PGAPPNAME": SERVER_APP_NAME,
        **env,
    }
    if db.get("PASSWORD"):
        environ["PGPASSWORD"] = db["PASSWORD"]
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--insecure", "--noreload", "--skip-checks", f"127.0.0.1:{port}"],
        cwd=settings.BASE_DIR,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def answering() -> str:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return f"http://127.0.0.1:{port}"
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("Daphne did not start") from None
                time.sleep(0.1)

    try:
        yield answering
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = %s",
                [SERVER_APP_NAME],
            )


def stored_clip_ids(folder: Path) -> set[str]:
    """Public ids of the clips with a file in the private folder (their audio and its
    disguised, bleeped or muffled versions: c_….bin, c_….disguised.bin)."""
    return {p.name.split(".")[0] for p in folder.rglob("*.bin")}


# --- an S3 endpoint: moto's standalone server, over real HTTP ------------------------------------


MOTO_SERVER = Path(sys.executable).with_name("moto_server")
S3_KEYS = {"access_key": "annotate-test", "secret_key": "annotate-test-secret"}  # moto takes any


@dataclass
class S3Endpoint:
    url: str
    process: subprocess.Popen

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=S3_KEYS["access_key"],
            aws_secret_access_key=S3_KEYS["secret_key"],
            region_name="us-east-1",
        )

    def new_bucket(self) -> str:
        name = f"annotate-{os.urandom(6).hex()}"
        self.client().create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> dict[str, bytes]:
        """Every object in the bucket: key -> bytes."""
        client = self.client()
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
        return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}

    def env(self, bucket: str) -> dict[str, str]:
        """The environment that points annotate's storage at this bucket (README: storage)."""
        return {
            "ANNOTATE_S3_BUCKET": bucket,
            "ANNOTATE_S3_ENDPOINT_URL": self.url,
            "ANNOTATE_S3_REGION": "us-east-1",
            "ANNOTATE_S3_ACCESS_KEY_ID": S3_KEYS["access_key"],
            "ANNOTATE_S3_SECRET_ACCESS_KEY": S3_KEYS["secret_key"],
        }

    def storage_setting(self, bucket: str) -> dict:
        """settings.STORAGES["default"] as settings.py makes it from env(bucket)."""
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": self.url,
                "region_name": "us-east-1",
                **S3_KEYS,
                "addressing_style": "path",
                "default_acl": None,
                "file_overwrite": False,
            },
        }


@contextmanager
def moto_s3() -> Iterator[S3Endpoint]:
    """moto's S3 server on a free port, in a process of its own, until the block ends."""
    port = free_port()
    process = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start on port {port}") from None
                time.sleep(0.1)
        yield S3Endpoint(url=url, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
