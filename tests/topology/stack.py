"""The deployed topology, started for real: PostgreSQL databases, a redis-server of
the test's own, the web server and the workers run with the README's commands.

Support module of tests/topology/conftest.py (fixtures `redis_server`, `processes`,
`stack`); test modules may import it, never each other. Nothing here is mocked:
every process is a subprocess of this test run with its own log file, ended
(with its process group) at teardown.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql as pgsql

BASE_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # .venv/bin when run by `make test`
# The PostgreSQL server the topology tests create their databases on.
POSTGRES_SERVER = os.environ.get("ANNOTATE_TOPOLOGY_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_PREFIX = "annotate_topo_"
PASSWORD = "topology-password-7"  # every user made by Stack.users() has it
POLL = 0.1  # seconds between readiness polls
# Variables of the parent environment that must not leak into a started process:
# each process gets exactly the deployment the test describes.
PROJECT_PREFIXES = ("ANNOTATE_", "DATABASE_URL", "REDIS_URL", "DJANGO_")
MAKE_VARIABLES = ("HOST", "PORT", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")  # the Makefile's, and make's own
ROLES = ("reviewer", "lead", "officer", "admin", "ingest")
WEB_WORKERS = 2  # uvicorn worker processes of the README's production web command


def web_command(port: int, *, workers: int = WEB_WORKERS) -> list[str]:
    """The README's production web command (Production, step 3) on `port`: uvicorn serving
    annotate.asgi (HTTP and WebSockets) in `workers` processes that share the port."""
    return [
        str(BIN / "uvicorn"), "annotate.asgi:application", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--lifespan", "off", "--no-access-log",
        "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1",
        "--timeout-keep-alive", "75", "--timeout-graceful-shutdown", "20",
    ]  # fmt: skip


# --- small helpers -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for(predicate: Callable[[], Any], *, timeout: float, message: str, interval: float = POLL) -> Any:
    """Poll `predicate` until it returns something truthy (returned); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{message} (waited {timeout:g} s)")
        time.sleep(interval)


def clean_env(**overrides: str) -> dict[str, str]:
    """The parent's environment without the project's own variables, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PROJECT_PREFIXES) and k not in MAKE_VARIABLES}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def data_key(kid: str) -> str:
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def admin_connect(dbname: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(f"{POSTGRES_SERVER}/{dbname}", autocommit=True, connect_timeout=5)


def postgres_missing() -> str | None:
    try:
        with admin_connect() as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"needs PostgreSQL at {POSTGRES_SERVER} (ANNOTATE_TOPOLOGY_POSTGRES): {exc}".strip()
    return None


def create_database(name: str, *, template: str | None = None) -> None:
    with admin_connect() as conn:
        query = pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name))
        if template:
            query = pgsql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                pgsql.Identifier(name), pgsql.Identifier(template)
            )
        conn.execute(query)


def drop_database(name: str) -> None:
    """Drop `name`, ending whatever connections are still open to it."""
    with admin_connect() as conn:
        conn.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name)))


def drop_stale_databases() -> list[str]:
    """Databases of earlier topology runs whose pytest process is gone (a crashed run leaves them)."""
    dropped = []
    with admin_connect() as conn:
        names = [
            row[0] for row in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [DB_PREFIX + "%"])
        ]
    for name in names:
        parts = name.removeprefix(DB_PREFIX).split("_")  # kind, pid, random
        pid = parts[-2] if len(parts) >= 3 else ""
        if pid.isdigit() and not _pid_alive(int(pid)):
            drop_database(name)
            dropped.append(name)
    return dropped


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def database_name(kind: str) -> str:
    """annotate_topo_<kind>_<pid>_<random>: the pid lets a later run drop what a crashed run left."""
    return f"{DB_PREFIX}{kind}_{os.getpid()}_{secrets.token_hex(4)}"


# --- processes -------------------------------------------------------------------------


class Process:
    """A started subprocess in its own process group; stdout and stderr go to one log file."""

    def __init__(self, name: str, args: list[str], *, env: dict[str, str], cwd: Path, log_path: Path):
        self.name = name
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 (closed in _reap)
        self.popen = subprocess.Popen(
            args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.pid = self.popen.pid

    def __repr__(self) -> str:
        return f"<Process {self.name} pid={self.pid} {'running' if self.alive else f'exit={self.returncode}'}>"

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)  # the group this process leads (start_new_session)

    def kill9(self) -> None:
        """SIGKILL the process and everything it started (as `kill -9` by a supervisor would), and reap it."""
        self._signal_group(signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._reap()

    def terminate(self, timeout: float = 15) -> int | None:
        """SIGTERM, wait up to `timeout` s, then SIGKILL. Returns the exit code."""
        if self.alive:
            self._signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.popen.wait(timeout=10)
        # Children that outlived their parent (same group) go too.
        self._signal_group(signal.SIGKILL)
        self._reap()
        return self.returncode

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def _reap(self) -> None:
        if not self._log.closed:
            self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 200) -> str:
        text = self.log_text().splitlines()
        cut = len(text) - lines
        return "\n".join(([f"[… {cut} earlier lines in {self.log_path}]"] if cut > 0 else []) + text[-lines:])

    def wait_for_log(self, substring: str, timeout: float = 30, *, count: int = 1) -> str:
        """Wait until `substring` occurs `count` times in the log; fail early if the process exits."""

        def seen() -> bool:
            if self.log_text().count(substring) >= count:
                return True
            if not self.alive:
                raise AssertionError(
                    f"{self.name} exited ({self.returncode}) before logging {substring!r}:\n{self.log_tail(60)}"
                )
            return False

        try:
            wait_for(seen, timeout=timeout, message=f"{self.name} did not log {substring!r} x{count}")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}:\n{self.log_tail(60)}") from None
        return self.log_text()


class Processes:
    """Starts processes for one test and ends them all at teardown."""

    def __init__(
        self, tmp: Path, *, env: dict[str, str] | None = None, on_start: Callable[[Process], None] | None = None
    ):
        self.tmp = tmp
        self.env = env if env is not None else clean_env()
        self.started: list[Process] = []
        self._on_start = on_start
        self._names: dict[str, int] = {}

    def start(
        self, name: str, args: Iterable[str], *, env: dict[str, str] | None = None, cwd: Path = BASE_DIR
    ) -> Process:
        number = self._names[name] = self._names.get(name, 0) + 1
        label = name if number == 1 else f"{name}-{number}"
        log_dir = self.tmp / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        process = Process(label, list(args), env=env or self.env, cwd=cwd, log_path=log_dir / f"{label}.log")
        self.started.append(process)
        if self._on_start:
            self._on_start(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.terminate(timeout=10)


# --- redis-server ------------------------------------------------------------------------


class RedisServer:
    """A redis-server of the test's own on a spare port, without persistence: stop() loses its data,
    as a crash of an unpersisted Redis would."""

    def __init__(self, tmp: Path, port: int | None = None):
        self.tmp = tmp
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 15) -> None:
        if self.process and self.process.poll() is None:
            return
        self.starts += 1
        log = open(self.tmp / "redis.log", "ab")  # noqa: SIM115 (the server's own log; closed with the test's tmp)
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.tmp), "--daemonize", "no", "--protected-mode", "no",
            ],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        wait_for(self.ping, timeout=timeout, message=f"redis-server on port {self.port} did not answer PING")

    def ping(self) -> bool:
        import redis

        if self.process is None or self.process.poll() is not None:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.process.returncode}): {self.log_text()[-2000:]}")
            return False
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self, timeout: float = 15) -> None:
        """Shut the server down without saving and wait until its port is closed."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # SIGTERM: redis-server shuts down (nothing to save: --save "")
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        wait_for(lambda: not port_open(self.port), timeout=timeout, message=f"port {self.port} still open")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self, db: int = 0):
        import redis

        return redis.Redis(port=self.port, db=db, socket_connect_timeout=2, socket_timeout=5)

    def log_text(self) -> str:
        path = self.tmp / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""


# --- HTTP clients ----------------------------------------------------------------------------


def http_client(base_url: str):
    """A requests.Session for one server: relative URLs, a default timeout, and Django's CSRF
    header on unsafe methods (from the csrftoken cookie), as the pages' own fetch() sends it."""
    import requests

    class Client(requests.Session):
        def __init__(self) -> None:
            super().__init__()
            self.base_url = base_url.rstrip("/")

        def request(self, method, url, *args, **kwargs):
            if url.startswith("/"):
                url = self.base_url + url
            kwargs.setdefault("timeout", 60)
            if method.upper() not in {"GET", "HEAD", "OPTIONS", "TRACE"}:
                token = self.cookies.get("csrftoken")
                headers = dict(kwargs.pop("headers", None) or {})
                if token and "X-CSRFToken" not in headers:
                    headers["X-CSRFToken"] = token
                headers.setdefault("Referer", self.base_url + "/")
                kwargs["headers"] = headers
            return super().request(method, url, *args, **kwargs)

    return Client()


@dataclass(frozen=True)
class StackUser:
    username: str
    id: int
    roles: tuple[str, ...]
    session: str  # a ready session key (signed in, as after the login form)
    token: str | None  # ingest API bearer token (role "ingest" only)
    password: str = PASSWORD
    otp_key: str | None = None  # hex TOTP key of the user's authenticator (roles that need a second factor)


# Runs inside `manage.py shell -c`: `args` is given, `result` is printed as JSON.
USERS_SCRIPT = """
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from annotate.accounts import mfa
from annotate.accounts.models import ApiToken
from annotate.accounts.services import assign_role_for_setup

password = make_password(args["password"])  # hashed once: PBKDF2 is slow on purpose
result = {}
for username, roles in args["users"].items():
    user, _ = User.objects.get_or_create(username=username, defaults={"email": username + "@annotate.example"})
    user.password = password
    user.save()
    for role in roles:  # past the two-admin grant, as setup (audited)
        assign_role_for_setup(user=user, role=role, by="topology tests")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    otp_key = None
    if mfa.mfa_required(User.objects.get(pk=user.pk)):  # an authenticator, and the code given in this session
        device = TOTPDevice.objects.create(user=user, name=mfa.AUTHENTICATOR_NAME, confirmed=True)
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        otp_key = device.key
    session.create()
    token = ApiToken.issue(user=user, name="topology test")[1] if "ingest" in roles else None
    result[username] = {"id": user.pk, "session": session.session_key, "token": token, "otp_key": otp_key}
"""
RESULT_MARK = "@@topology-result@@"


# --- the demo's clips, uploaded as the pipeline does ---------------------------------------------


def demo_clips(count: int, *, skip: int = 0) -> list[tuple[str, bytes, dict]]:
    """(file name, bytes, manifest fields) of demo clips whose subjects did not opt out."""
    found = []
    for line in (BASE_DIR / "demo" / "manifest.jsonl").read_text().splitlines():
        meta = json.loads(line)
        if meta.pop("opted_out", False):
            continue
        path = BASE_DIR / "demo" / meta.pop("audio")
        found.append((path.name, path.read_bytes(), meta))
    return found[skip : skip + count]


def upload(client, token: str, clip: tuple[str, bytes, dict]):
    name, data, meta = clip
    fields = {k: str(v) for k, v in meta.items()}
    return client.post(
        "/api/v1/clips", files={"audio": (name, data)}, data=fields, headers={"Authorization": f"Bearer {token}"}
    )


# --- the stack ---------------------------------------------------------------------------------


@dataclass
class Stack:
    """One deployment for one test: its own database (from the migrated template), its own
    redis-server, private folder and keys. Start servers with web() and worker()."""

    tmp: Path
    db_name: str
    redis: RedisServer
    static_root: Callable[[], Path]  # collectstatic, once per session, on first use
    on_start: Callable[[Process], None] | None = None  # the fixture keeps each process's log for the report
    processes: Processes = field(init=False)
    env: dict[str, str] = field(init=False)
    webs: list[WebServer] = field(default_factory=list)
    # username -> hex TOTP key, and how many times login() has used a code of it (a code is taken once)
    otp_keys: dict[str, str] = field(default_factory=dict)
    otp_uses: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        var = self.tmp / "var"
        (var / "private").mkdir(parents=True, exist_ok=True)
        self.database_url = f"{POSTGRES_SERVER}/{self.db_name}"
        self.env = clean_env(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis.url,
            ANNOTATE_SECRET_KEY=secrets.token_urlsafe(50),
            ANNOTATE_DATA_KEY=data_key("topo-data"),
            ANNOTATE_IDENTITY_KEY=data_key("topo-identity"),
            ANNOTATE_LOOKUP_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
            ANNOTATE_VAR_DIR=str(var),
            ANNOTATE_PRIVATE_ROOT=str(var / "private"),
            ANNOTATE_STATIC_ROOT=str(self.tmp / "static-unused"),  # web() sets the collected one
            ANNOTATE_DEBUG="0",
            ANNOTATE_ALLOWED_HOSTS="127.0.0.1,localhost",
            # Plain HTTP on the loopback (production sits behind a TLS proxy): a Secure
            # cookie would never come back.
            ANNOTATE_SECURE_COOKIES="0",
            ANNOTATE_LOG_LEVEL="INFO",
        )
        self.processes = Processes(self.tmp, env=self.env, on_start=self.on_start)

    # processes
    def start(self, name: str, args: Iterable[str], *, env: dict[str, str] | None = None) -> Process:
        return self.processes.start(name, args, env=env)

    def web(
        self,
        port: int | None = None,
        *,
        workers: int = WEB_WORKERS,
        timeout: float = 60,
        env: dict[str, str] | None = None,
    ) -> WebServer:
        """The README's production web command (uvicorn, `workers` processes), static files collected
        first; returns once every worker process has loaded the app and the server answers. `env`
        adds to the stack's environment for this server alone (another host's settings)."""
        self.env["ANNOTATE_STATIC_ROOT"] = str(self.static_root())
        port = port or free_port()
        process = self.start("web", web_command(port, workers=workers), env={**self.env, **(env or {})})
        server = WebServer(process, port, workers)
        server.wait_ready(timeout=timeout)
        self.webs.append(server)
        return server

    def worker(self, *queues: str, env: dict[str, str] | None = None) -> Process:
        """The README's worker command: `manage.py worker QUEUE [QUEUE...]` (`env`: as for web())."""
        return self.start(
            "worker-" + "-".join(queues),
            [str(BIN / "python"), "manage.py", "worker", *queues],
            env={**self.env, **env} if env else None,
        )

    def manage(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(BIN / "python"), "manage.py", *args], cwd=BASE_DIR, env=self.env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def django(self, code: str, **args: Any) -> Any:
        """Run `code` in `manage.py shell -c` against the stack; `args` (JSON) is given, `result` is returned."""
        script = f"import json\nargs = json.loads({json.dumps(json.dumps(args))})\nresult = None\n{code}\n"
        script += f"print({RESULT_MARK!r} + json.dumps(result))\n"
        out = self.manage("shell", "-c", script).stdout
        line = next(line for line in reversed(out.splitlines()) if line.startswith(RESULT_MARK))
        return json.loads(line[len(RESULT_MARK) :])

    # database
    def sql(self, query: str, params: Iterable[Any] = ()) -> list[tuple]:
        with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(query, list(params))
            return cursor.fetchall() if cursor.description else []

    def connection_count(self) -> int:
        """Connections open to this stack's database right now (pg_stat_activity), this query's own excluded."""
        return self.sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )[0][0]

    # users and clients
    def users(self, spec: dict[str, Iterable[str]]) -> dict[str, StackUser]:
        """Create users with roles, e.g. {"rita": ["reviewer"], "olga": ["officer"], "pipe": ["ingest"]}:
        each with PASSWORD, a signed-in session, and an API token for "ingest"."""
        for username, roles in spec.items():
            unknown = set(roles) - set(ROLES)
            assert not unknown, f"{username}: unknown roles {unknown}"
        users = {name: list(roles) for name, roles in spec.items()}
        made = self.django(USERS_SCRIPT, users=users, password=PASSWORD)
        made_users = {
            name: StackUser(
                username=name,
                roles=tuple(spec[name]),
                id=v["id"],
                session=v["session"],
                token=v["token"],
                otp_key=v["otp_key"],
            )
            for name, v in made.items()
        }
        self.otp_keys.update({name: v["otp_key"] for name, v in made.items() if v["otp_key"]})
        return made_users

    def url(self, path: str = "/") -> str:
        assert self.webs, "start the web server first: stack.web()"
        return self.webs[0].url(path)

    def client(self, user: StackUser | None = None, *, server: WebServer | None = None):
        """An HTTP client of the (first) web server; signed in as `user` through its ready session."""
        base = (server or self.webs[0]).url("")
        client = http_client(base)
        client.get("/login/").raise_for_status()  # sets the csrftoken cookie
        if user is not None:
            client.cookies.set("sessionid", user.session, domain=urlsplit(base).hostname, path="/")
        return client

    def login(self, username: str, password: str = PASSWORD, *, server: WebServer | None = None):
        """An HTTP client signed in through the /login/ form, as a person does, and for roles that need
        it the code step with the authenticator users() made (twice per user within 30 seconds at most)."""
        client = http_client((server or self.webs[0]).url(""))
        page = client.get("/login/")
        page.raise_for_status()
        response = client.post(
            "/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
            allow_redirects=False,
        )
        assert response.status_code == 302, f"login of {username} failed: {response.status_code}"
        key = self.otp_keys.get(username)
        if key is not None:
            from django_otp.oath import totp

            drift = self.otp_uses.get(username, 0)
            self.otp_uses[username] = drift + 1
            response = client.post(
                "/account/mfa/verify/",
                data={
                    "token": f"{totp(bytes.fromhex(key), drift=drift):06d}",
                    "csrfmiddlewaretoken": client.cookies["csrftoken"],
                },
                allow_redirects=False,
            )
            assert response.status_code == 302, f"code step of {username} failed: {response.status_code}"
        return client

    def browser_cookies(self, user: StackUser) -> list[dict]:
        """Cookies that sign a Playwright context in as `user`: context.add_cookies(stack.browser_cookies(u))."""
        return [{"name": "sessionid", "value": user.session, "url": self.url("/")}]

    def stop(self) -> None:
        self.processes.stop_all()


@dataclass
class WebServer:
    process: Process
    port: int
    workers: int = WEB_WORKERS

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until every worker process has loaded the app (uvicorn logs "Started server process"
        once a worker's app is imported) and the server answers /login/."""
        import requests

        def answers() -> bool:
            if not self.process.alive:
                raise AssertionError(f"web server exited ({self.process.returncode}):\n{self.process.log_tail(80)}")
            if self.process.log_text().count("Started server process") < self.workers:
                return False
            try:
                return requests.get(self.url("/login/"), timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(answers, timeout=timeout, message=f"web server on port {self.port} did not answer /login/")

    # a web server is a process
    def __getattr__(self, name: str) -> Any:
        return getattr(self.process, name)
