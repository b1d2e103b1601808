"""The reviewer loop over real HTTP against the production web server, beside the raw-SQL floor (issue 14).

    .venv/bin/python bench/http_loop.py [--tasks 10k,100k,1m] [--servers uvicorn,daphne] [--workers 2]
                                        [--reviewers 16] [--rounds 50] [--sequential 200] [--keep]

For each size N it creates a database annotate_bench_http_<N> on the server of
BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), migrates
it, adds N transcribed clips with Whisper transcripts and N open tasks in one queue
(overlap 1) in SQL, and R+1 reviewers (the `reviewer` group, members of the queue),
each with a signed-in session written straight into Django's session store and a
CSRF cookie. It then starts each production web server itself, on a free port, with
production settings (DEBUG off, throw-away keys that pass `check --deploy`, static
files collected into a temporary folder, the psycopg pool at its default size,
Redis database 9 for jobs and the channel layer, behind a pretend TLS proxy:
X-Forwarded-Proto: https):

    uvicorn annotate.asgi:application --workers W --host 127.0.0.1 --port P --no-access-log
    daphne -b 127.0.0.1 -p P annotate.asgi:application          (one process)

Each reviewer is a process of its own (http.client, a new TCP connection per request),
looping: POST /review/api/claim {"queue_id": Q} → the first task of the answer is the
clip under review → POST /review/api/tasks/<id>/submit with a corrected text (201).
First every reviewer does one claim → submit (warm-up, not timed: both uvicorn workers,
the pools, the sessions), then one reviewer does --sequential claim → submit pairs
alone, then R reviewers at once do --rounds pairs each. The server is stopped
(SIGTERM, then SIGKILL for what is left of the processes it started).

After the servers, per size: the SQL statements of one claim, one submit and one GET
of the review page, counted in this process with django.test.Client and
CaptureQueriesContext on the same database, after one warm-up request of each, the way
assertNumQueries counts them (an atomic block's BEGIN and COMMIT and its SAVEPOINTs
included; the kinds are listed); the targets are checked on the statements without
transaction control, as issue 14 and tests/test_review_access.py count them (the
raw-SQL floor's submit is 3 statements without its BEGIN and COMMIT too). Then the
raw-SQL floor: psycopg alone, no HTTP and no Django, the same sequential run and R
connections at once doing the same number of pairs (each connected before the clock starts), where a claim is one
`UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING` and a submit
is one transaction of an annotation INSERT and the task's UPDATE to done.

Printed per size and server:
- claim and submit p50/p95/p99 ms, sequential and concurrent: the client's wall time
  of a request, connect to the last byte, successful requests only (n= says how many);
- annotations per second: submits answered 201 in the concurrent phase / its wall time;
- errors: every answer other than 200 with a task (claim) or 201 (submit), by status
  code or exception ("no task" is a claim answered 200 with an empty list);
- duplicates: from the responses, task ids that two reviewers were each answered 201
  for; in the database, tasks with more than one annotation and clips with more than
  one annotation in the queue (overlap 1). All must be 0;
- peak PostgreSQL connections to the bench database during the phase, and of them the
  most not idle at once (pg_stat_activity polled every 50 ms from a thread of this
  process, on a connection to another database); the servers' pools keep their
  connections open between phases, so the sequential phase shows them too;
- CPU during the concurrent phase, in cores: the client processes, the server's
  processes, and the whole machine (of os.cpu_count()); PostgreSQL is most of the rest;
- the load average (1, 5, 15 min) at the start and end of each run.
Then a summary per size: the HTTP figures beside the floor's, the ratio HTTP/floor
(for annotations per second floor/HTTP, so above 1 is always "slower than the floor"),
and the issue's targets with ✓ or ✗ (claim p95 ≤ 140 ms at R concurrent, ≥ 150
annotations/s, sequential claim p50 ≤ 10 ms, claim ≤ 3, submit ≤ 4, page ≤ 10
statements). Nothing is asserted. The databases are dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup  # noqa: E402
from bench._setup import percentile, size  # noqa: E402

ROOT = _setup.ROOT
BIN = Path(sys.executable).parent
DB_PREFIX = "annotate_bench_http_"
REDIS_URL = "redis://127.0.0.1:6379/9"  # the bench's own Redis database, flushed before and after each server
CORRECTED_TEXT = "set a timer for ten minutes"
BARRIER_SECONDS = 120  # every client process started, or the phase fails
REQUEST_TIMEOUT = 60

# Issue 14's targets: printed beside the figures, never asserted.
TARGET_CLAIM_P95_MS = 140
TARGET_ANNOTATIONS_PER_S = 150
TARGET_SEQUENTIAL_CLAIM_P50_MS = 10
TARGET_STATEMENTS = {"claim": 3, "submit": 4, "review page": 10}

FLOOR_CLAIM = """
UPDATE queues_task SET state = 'claimed', claimed_by_id = %(user)s, claimed_at = now(),
       lease_expires_at = now() + interval '10 minutes'
WHERE id = (SELECT id FROM queues_task WHERE queue_id = %(queue)s AND state = 'open'
            ORDER BY created_at, id FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING id, clip_id
"""
FLOOR_DONE = (
    "UPDATE queues_task SET state = 'done', done_at = now() WHERE id = %(task)s AND claimed_by_id = %(user)s"
    " AND state = 'claimed'"
)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- production settings ----------------------------------------------------------------------


def production_env(folder: Path) -> dict[str, str]:
    """What the README's production section sets, with throw-away keys (each ring its own key)."""

    def key() -> str:
        return base64.b64encode(os.urandom(32)).decode()

    return {
        "DJANGO_SETTINGS_MODULE": "annotate.settings",
        "ANNOTATE_DEBUG": "0",
        "ANNOTATE_SECRET_KEY": secrets.token_urlsafe(50),
        "ANNOTATE_DATA_KEY": "k1:" + key(),
        "ANNOTATE_IDENTITY_KEY": "i1:" + key(),
        "ANNOTATE_LOOKUP_KEY": key(),
        "ANNOTATE_ALLOWED_HOSTS": "127.0.0.1",
        # as behind the TLS proxy: the clients send X-Forwarded-Proto: https and an https Origin
        "ANNOTATE_BEHIND_PROXY": "1",
        "ANNOTATE_SECURE_COOKIES": "1",
        "ANNOTATE_SSL_REDIRECT": "1",
        "ANNOTATE_HSTS_SECONDS": "31536000",
        "ANNOTATE_SITE_URL": "https://127.0.0.1",
        "ANNOTATE_VAR_DIR": str(folder / "var"),
        "ANNOTATE_PRIVATE_ROOT": str(folder / "private"),
        "ANNOTATE_STATIC_ROOT": str(folder / "static"),
        "ANNOTATE_LOG_LEVEL": "WARNING",
        "REDIS_URL": REDIS_URL,
        "PYTHONPATH": str(ROOT),
    }


def clean_environ() -> dict[str, str]:
    """This process's environment without any annotate setting, so that only the bench's apply."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ANNOTATE_") and k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def flush_bench_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()  # database 9 only
    finally:
        client.close()


# --- reviewers and their sessions ---------------------------------------------------------------


def signed_in_reviewers(users: list) -> list[dict]:
    """A session per user, written into the session store as a sign-in would, and a CSRF token.

    The backend recorded is the one a password sign-in records: the first in
    AUTHENTICATION_BACKENDS after axes' lockout check (which authenticates nobody). The
    sign-in times are set (annotate.accounts.signin) so that the idle-timeout middleware
    does not write the session on the first request.
    """
    from importlib import import_module

    from axes.backends import AxesBackend
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.utils.crypto import get_random_string
    from django.utils.module_loading import import_string

    from annotate.accounts import signin

    store = import_module(settings.SESSION_ENGINE).SessionStore
    backend = next(p for p in settings.AUTHENTICATION_BACKENDS if not issubclass(import_string(p), AxesBackend))
    header = settings.CSRF_HEADER_NAME.removeprefix("HTTP_").replace("_", "-")
    now = time.time()
    reviewers = []
    for user in users:
        session = store()
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session[signin.SIGNED_IN_AT] = now
        session[signin.LAST_SEEN] = now
        session[signin.IDLE_SECONDS] = signin.idle_seconds_for(user)
        session.create()
        csrf = get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
        reviewers.append(
            {
                "user_id": user.pk,
                "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}; {settings.CSRF_COOKIE_NAME}={csrf}",
                "session_cookie": (settings.SESSION_COOKIE_NAME, session.session_key),
                "csrf_cookie": (settings.CSRF_COOKIE_NAME, csrf),
                "csrf_header": (header, csrf),
            }
        )
    return reviewers


# --- the server ----------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _proc_stat(pid: str) -> list[str] | None:
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return data.rsplit(")", 1)[1].split()  # fields from the state on (the name may hold spaces)


def group_members(pgid: int) -> list[int]:
    """The live processes of process group `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _proc_stat(entry.name)
            if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of the live processes of group `pgid`."""
    ticks = 0
    for pid in group_members(pgid):
        fields = _proc_stat(str(pid))
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # user … steal (guest time is already in user)
    return total - idle, total


class Server:
    """The production web server as a subprocess on a free port, for the duration of a with block.

    It gets a process group of its own (start_new_session), so that its CPU can be summed
    and, at the end, whatever is left of exactly the processes it started can be killed.
    """

    def __init__(self, kind: str, *, workers: int, env: dict[str, str], log: Path):
        self.kind, self.workers, self.env, self.log = kind, workers, env, log
        self.port = free_port()
        if kind == "uvicorn":
            self.command = [
                str(BIN / "uvicorn"),
                "annotate.asgi:application",
                "--workers",
                str(workers),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
            ]
            self.label = f"uvicorn, {workers} worker{'s' if workers != 1 else ''}"
        elif kind == "daphne":
            self.command = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "annotate.asgi:application"]
            self.label = "daphne, 1 process"
        else:
            raise SystemExit(f"unknown server {kind!r}: uvicorn or daphne")

    def __enter__(self) -> Server:
        started = time.perf_counter()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 90
        answered = 0
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.kind} stopped (exit {self.process.returncode}):\n{self.log_tail()}")
            try:
                status, _, _ = request(self.port, "GET", "/login/", None)
            except OSError:
                status = 0
            if status == 200:
                answered += 1
                if answered >= 2 * self.workers:  # likely every worker up, not just the first
                    self.started_in = time.perf_counter() - started
                    return self
            else:
                time.sleep(0.2)
        self.__exit__()
        raise SystemExit(f"{self.kind} did not answer GET /login/ with 200 within 90 s:\n{self.log_tail()}")

    def __exit__(self, *exc) -> None:
        pgid = self.process.pid
        ours = group_members(pgid)  # the server and its worker processes, before they go
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(pid in group_members(pgid) for pid in ours):
            time.sleep(0.1)
        for pid in ours:
            if pid in group_members(pgid):  # still ours: same pid, same process group
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def cpu_seconds(self) -> float:
        return group_cpu_seconds(self.process.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


# --- the HTTP client: one process per reviewer ---------------------------------------------------------


def request(port: int, method: str, path: str, reviewer: dict | None, body: dict | None = None):
    """One request on a new TCP connection: (status, body bytes, milliseconds connect to last byte)."""
    headers = {"X-Forwarded-Proto": "https", "Accept": "application/json"}
    data = None
    if reviewer is not None:
        header, token = reviewer["csrf_header"]
        headers.update({"Cookie": reviewer["cookie"], header: token, "Origin": f"https://127.0.0.1:{port}"})
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    return response.status, payload, (time.perf_counter() - started) * 1000


def http_reviewer(port: int, paths: dict, reviewer: dict, queue_id: int, rounds: int) -> Callable[[], dict]:
    """The reviewer's run, ready to start: claim → submit `rounds` times. Nothing to prepare over HTTP
    (each request connects anew)."""
    return lambda: _http_loop(port, paths, reviewer, queue_id, rounds)


def _http_loop(port: int, paths: dict, reviewer: dict, queue_id: int, rounds: int) -> dict:
    """The figures come back as plain data (they cross processes)."""
    out: dict = {"claim_ms": [], "submit_ms": [], "errors": Counter(), "submitted": [], "user_id": reviewer["user_id"]}
    cpu_started = time.process_time()
    for _ in range(rounds):
        try:
            status, payload, ms = request(port, "POST", paths["claim"], reviewer, {"queue_id": queue_id})
        except (OSError, http.client.HTTPException) as exc:
            out["errors"][f"claim {type(exc).__name__}"] += 1
            continue
        if status != 200:
            out["errors"][f"claim {status}"] += 1
            continue
        tasks = json.loads(payload).get("tasks") or []
        if not tasks:
            out["errors"]["claim no task"] += 1
            break  # the queue is empty for this reviewer
        out["claim_ms"].append(ms)
        task_id = tasks[0]["task_id"]
        body = {"idempotency_key": uuid.uuid4().hex, "corrected_text": CORRECTED_TEXT, "listened_fraction": 1.0}
        try:
            status, payload, ms = request(port, "POST", paths["submit"].format(task_id=task_id), reviewer, body)
        except (OSError, http.client.HTTPException) as exc:
            out["errors"][f"submit {type(exc).__name__}"] += 1
            continue
        if status != 201:
            out["errors"][f"submit {status}"] += 1
            continue
        out["submit_ms"].append(ms)
        out["submitted"].append(task_id)
    out["cpu"] = time.process_time() - cpu_started
    return out


# --- the raw-SQL floor: psycopg alone, one connection per reviewer -----------------------------------------


def floor_reviewer(url: str, insert: tuple[str, dict], user_id: int, queue_id: int, rounds: int) -> Callable[[], dict]:
    """The reviewer's run, ready to start: connected (before the clock starts, like a pooled connection)."""
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    return lambda: _floor_loop(conn, insert, user_id, queue_id, rounds)


def _floor_loop(conn, insert: tuple[str, dict], user_id: int, queue_id: int, rounds: int) -> dict:
    sql, defaults = insert
    out: dict = {"claim_ms": [], "submit_ms": [], "errors": Counter(), "submitted": [], "user_id": user_id}
    cpu_started = time.process_time()
    with conn:
        for _ in range(rounds):
            started = time.perf_counter()
            row = conn.execute(FLOOR_CLAIM, {"user": user_id, "queue": queue_id}).fetchone()
            if row is None:
                out["errors"]["claim no task"] += 1
                break
            out["claim_ms"].append((time.perf_counter() - started) * 1000)
            task_id, clip_id = row
            values = {**defaults, "task": task_id, "clip": clip_id, "reviewer": user_id, "key": uuid.uuid4().hex}
            started = time.perf_counter()
            with conn.transaction():
                conn.execute(sql, values)
                done = conn.execute(FLOOR_DONE, {"task": task_id, "user": user_id}).rowcount
            if done != 1:
                out["errors"]["submit task not held"] += 1
                continue
            out["submit_ms"].append((time.perf_counter() - started) * 1000)
            out["submitted"].append(task_id)
    out["cpu"] = time.process_time() - cpu_started
    return out


def annotation_insert() -> tuple[str, dict]:
    """The floor's INSERT of an annotation: every NOT NULL column of the model gets a value
    (the model's default where the bench gives none), so it follows the model as it changes."""
    from django.db import connection

    from annotate.review.models import Annotation

    given = {
        "task": "%(task)s",
        "clip": "%(clip)s",
        "reviewer": "%(reviewer)s",
        "idempotency_key": "%(key)s",
        "corrected_text": "%(text)s",
        "whisper_text": "%(text)s",
        "whisper_model": "'tiny.en'",
        "listened_fraction": "1.0",
        "created_at": "now()",
    }
    params: dict = {"text": CORRECTED_TEXT}
    columns, values = _setup.columns_and_values(Annotation, given, params)
    table = connection.ops.quote_name(Annotation._meta.db_table)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(values)})", params


# --- running reviewers in processes ------------------------------------------------------------------------


def _worker(prepare, args, start, results) -> None:
    try:
        run = prepare(*args)
        start.wait()
        results.put(run())
    except Exception as exc:  # reported with the figures
        start.abort()
        results.put({"claim_ms": [], "submit_ms": [], "errors": Counter({f"client {type(exc).__name__}: {exc}": 1})})


def run_processes(prepare, arg_lists: list[tuple], server: Server | None = None) -> dict:
    """prepare(*args)() in one process each: all prepared, then released at once. Their figures merged,
    with the wall time from the release to the last one's end and the CPU used meanwhile (clients,
    server, machine)."""
    context = multiprocessing.get_context("spawn")  # no fork of this process's threads and connections
    start = context.Barrier(len(arg_lists) + 1, timeout=BARRIER_SECONDS)
    results = context.Queue()
    processes = [context.Process(target=_worker, args=(prepare, args, start, results)) for args in arg_lists]
    for process in processes:
        process.start()
    try:
        start.wait()
    except threading.BrokenBarrierError:
        pass  # a client failed to start; its error comes with the results
    began = time.perf_counter()
    server_cpu = server.cpu_seconds() if server else 0.0
    busy, total = machine_cpu()
    outs = [results.get() for _ in processes]
    wall = time.perf_counter() - began
    busy_end, total_end = machine_cpu()
    server_cpu = (server.cpu_seconds() - server_cpu) if server else float("nan")
    for process in processes:
        process.join()
    merged: dict = {
        "claim_ms": [ms for o in outs for ms in o["claim_ms"]],
        "submit_ms": [ms for o in outs for ms in o["submit_ms"]],
        "errors": sum((Counter(o["errors"]) for o in outs), Counter()),
        "submitted_by": defaultdict(set),
        "wall": wall,
        "client_cores": sum(o.get("cpu", 0.0) for o in outs) / wall,
        "server_cores": server_cpu / wall,
        "machine_cores": (busy_end - busy) / max(1, total_end - total) * (os.cpu_count() or 1),
    }
    for o in outs:
        for task_id in o.get("submitted", []):
            merged["submitted_by"][task_id].add(o.get("user_id"))
    merged["annotations_per_s"] = len(merged["submit_ms"]) / wall
    return merged


class ConnectionPeak(threading.Thread):
    """Polls pg_stat_activity every 50 ms for the connections to one database; take() returns the peaks
    since the last take(): (connections, connections not idle). Its own connection is to another
    database, so it does not count itself."""

    def __init__(self, database: str):
        super().__init__(daemon=True)
        self.database = database
        self.peak = (0, 0)
        self.lock = threading.Lock()
        self.done = threading.Event()

    def run(self) -> None:
        with _setup.admin_connection() as conn:
            while not self.done.is_set():
                count, busy = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE state <> 'idle') FROM pg_stat_activity WHERE datname = %s",
                    (self.database,),
                ).fetchone()
                with self.lock:
                    self.peak = (max(self.peak[0], count), max(self.peak[1], busy))
                self.done.wait(0.05)

    def take(self) -> str:
        with self.lock:
            (total, busy), self.peak = self.peak, (0, 0)
        return f"{total} (not idle {busy})"

    def stop(self) -> None:
        self.done.set()
        self.join()


# --- SQL statements per request, in process -------------------------------------------------------------


def count_statements(queue_id: int, reviewer: dict, paths: dict) -> dict[str, list[str]]:
    """The statements of one claim, one submit and one review page, each after a warm-up request.

    Each counted request follows a submit, as in the loop: the claim and the page each top
    the reviewer's claims up by one task.
    """
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    client.cookies[reviewer["session_cookie"][0]] = reviewer["session_cookie"][1]
    client.cookies[reviewer["csrf_cookie"][0]] = reviewer["csrf_cookie"][1]

    def page() -> None:
        response = client.get(paths["page"])
        if response.status_code != 200:
            raise RuntimeError(f"GET {paths['page']} answered {response.status_code}")

    def claim() -> int:
        response = client.post(paths["claim"], {"queue_id": queue_id}, content_type="application/json")
        if response.status_code != 200 or not response.json().get("tasks"):
            raise RuntimeError(f"claim answered {response.status_code}: {response.content[:200]!r}")
        return response.json()["tasks"][0]["task_id"]

    def submit(task_id: int) -> None:
        body = {"idempotency_key": uuid.uuid4().hex, "corrected_text": CORRECTED_TEXT, "listened_fraction": 1.0}
        response = client.post(paths["submit"].format(task_id=task_id), body, content_type="application/json")
        if response.status_code != 201:
            raise RuntimeError(f"submit answered {response.status_code}: {response.content[:200]!r}")

    page()
    submit(claim())  # warm-up: one of each
    captured = {}
    with CaptureQueriesContext(connection) as queries:
        task_id = claim()
    captured["claim"] = [q["sql"] for q in queries.captured_queries]
    with CaptureQueriesContext(connection) as queries:
        submit(task_id)
    captured["submit"] = [q["sql"] for q in queries.captured_queries]
    with CaptureQueriesContext(connection) as queries:
        page()
    captured["review page"] = [q["sql"] for q in queries.captured_queries]
    connections.close_all()
    return captured


def database_duplicates(queue_id: int) -> tuple[int, int]:
    """(tasks with more than one annotation, clips with more than one annotation in the queue)."""
    from django.db import connection

    from annotate.queues.models import Task
    from annotate.review.models import Annotation

    annotations, tasks = Annotation._meta.db_table, Task._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT task_id FROM {annotations} GROUP BY task_id HAVING count(*) > 1) d"
        )
        (by_task,) = cursor.fetchone()
        cursor.execute(
            f"SELECT count(*) FROM (SELECT a.clip_id FROM {annotations} a JOIN {tasks} t ON t.id = a.task_id"
            f" WHERE t.queue_id = %s GROUP BY a.clip_id HAVING count(*) > 1) d",
            [queue_id],
        )
        (by_clip,) = cursor.fetchone()
    connection.close()
    return by_task, by_clip


# --- printing ---------------------------------------------------------------------------------------------


def latency_line(name: str, values: list[float]) -> str:
    return (
        f"    {name:<18} n={len(values):<5} p50 {percentile(values, 50):7.1f}  p95 {percentile(values, 95):7.1f}"
        f"  p99 {percentile(values, 99):7.1f}  max {max(values, default=float('nan')):7.1f} ms"
    )


def errors_text(errors: Counter) -> str:
    if not errors:
        return "none"
    return ", ".join(f"{what} ×{n}" for what, n in errors.most_common())


def mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def print_phase(label: str, figures: dict, peak: str) -> None:
    print(f"  {label}: {figures['wall']:.1f} s, peak PostgreSQL connections {peak}")
    print(latency_line("claim", figures["claim_ms"]))
    print(latency_line("submit", figures["submit_ms"]))
    print(f"    {'annotations/s':<18} {figures['annotations_per_s']:.1f}")
    print(f"    {'errors':<18} {errors_text(figures['errors'])}")


def response_duplicates(*phases: dict) -> int:
    by: dict[int, set] = defaultdict(set)
    for phase in phases:
        for task_id, users in phase["submitted_by"].items():
            by[task_id] |= users
    return sum(1 for users in by.values() if len(users) > 1)


def print_summary(tasks: int, reviewers: int, runs: dict[str, dict], floor: dict, statements: dict) -> None:
    names = list(runs)
    print(f"\n  summary at {tasks:,} open tasks (×floor: HTTP / raw SQL; for annotations/s raw SQL / HTTP)")
    header = f"    {'':<34} {'target':<8}" + "".join(f" {n:>20}" for n in names) + f" {'raw SQL':>9}"
    print(header)

    def row(label: str, key: tuple[str, str, float], target: str = "", ok=None, higher_is_better=False) -> None:
        phase, what, p = key
        floor_value = floor[phase][what] if what == "annotations_per_s" else percentile(floor[phase][what], p)
        cells = []
        for name in names:
            figures = runs[name][phase]
            value = figures[what] if what == "annotations_per_s" else percentile(figures[what], p)
            ratio = floor_value / value if higher_is_better else value / floor_value
            cells.append(f"{value:9.1f} {mark(ok(value)) if ok else ' '} ×{ratio:<6.{0 if ratio >= 10 else 1}f}")
        print(f"    {label:<34} {target:<8}" + "".join(f" {c:>20}" for c in cells) + f" {floor_value:9.1f}")

    row(
        "sequential claim p50 ms",
        ("sequential", "claim_ms", 50),
        f"≤ {TARGET_SEQUENTIAL_CLAIM_P50_MS}",
        lambda v: v <= TARGET_SEQUENTIAL_CLAIM_P50_MS,
    )
    row("sequential claim p95 ms", ("sequential", "claim_ms", 95))
    row("sequential submit p50 ms", ("sequential", "submit_ms", 50))
    row("sequential submit p95 ms", ("sequential", "submit_ms", 95))
    for p in (50, 95, 99):
        target, ok = (f"≤ {TARGET_CLAIM_P95_MS}", lambda v: v <= TARGET_CLAIM_P95_MS) if p == 95 else ("", None)
        row(f"{reviewers} at once: claim p{p} ms", ("concurrent", "claim_ms", p), target, ok)
    for p in (50, 95, 99):
        row(f"{reviewers} at once: submit p{p} ms", ("concurrent", "submit_ms", p))
    row(
        "annotations per second",
        ("concurrent", "annotations_per_s", 0),
        f"≥ {TARGET_ANNOTATIONS_PER_S}",
        lambda v: v >= TARGET_ANNOTATIONS_PER_S,
        higher_is_better=True,
    )
    for label, key in (("peak PG connections, concurrent", "peak"), ("duplicates (responses, database)", "dups")):
        print(f"    {label:<34} {'0' if key == 'dups' else '':<8}" + "".join(f" {runs[n][key]:>20}" for n in names))
    print(
        f"    {'load average at start → end':<34} {'':<8}"
        + "".join(f" {runs[n]['load'][0].split()[0] + ' → ' + runs[n]['load'][1].split()[0]:>20}" for n in names)
    )
    counts = ", ".join(
        f"{what} {len(work(sql))} {mark(len(work(sql)) <= TARGET_STATEMENTS[what])} (≤ {TARGET_STATEMENTS[what]})"
        for what, sql in statements.items()
    )
    print(f"    SQL statements per request: {counts or 'not measured'}")


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def work(sql: list[str]) -> list[str]:
    """The statements that do the request's work: BEGIN, COMMIT and savepoints aside."""
    return [s for s in sql if not s.strip().upper().startswith(TRANSACTION_CONTROL)]


def statement_kinds(sql: list[str]) -> str:
    kinds = Counter(s.split(None, 1)[0].upper() if s.strip() else "?" for s in sql)
    return ", ".join(f"{k} {n}" for k, n in kinds.most_common())


# --- one size -------------------------------------------------------------------------------------------------


def bench_size(args, tasks: int, env: dict[str, str], folder: Path) -> None:
    name = f"{DB_PREFIX}{tasks}"
    print(f"\n=== {tasks:,} open tasks ({name}) ===")
    started = time.perf_counter()
    url = _setup.use_database(name, verbose=False)
    migrated = time.perf_counter() - started
    from django.db import connections
    from django.urls import reverse

    from annotate.queues.models import Queue

    queue = Queue.objects.create(name="bench", overlap=1)
    started = time.perf_counter()
    _setup.fill_queue(queue, tasks, transcript=CORRECTED_TEXT)
    seeded = time.perf_counter() - started
    users = _setup.make_users("reviewer", args.reviewers + 1, "reviewer")
    queue.members.add(*users)
    reviewers = signed_in_reviewers(users)
    paths = {
        "claim": reverse("review-api-claim"),
        "submit": reverse("review-api-submit", kwargs={"task_id": 987654321}).replace("987654321", "{task_id}"),
        "page": reverse("review-queue", kwargs={"queue_id": queue.pk}),
    }
    insert = annotation_insert()
    connections.close_all()
    print(
        f"  created and migrated in {migrated:.1f} s; seeded {tasks:,} clips + transcripts + open tasks"
        f" in {seeded:.1f} s (SQL, with VACUUM ANALYZE); {len(users)} reviewers with sessions"
    )

    peak = ConnectionPeak(name)
    peak.start()
    server_env = {**env, "DATABASE_URL": url}
    runs: dict[str, dict] = {}
    try:
        for kind in args.servers:
            flush_bench_redis()
            load_start = load_average()
            with Server(kind, workers=args.workers, env=server_env, log=folder / f"{kind}-{tasks}.log") as server:
                print(f"\n  -- {server.label} on port {server.port} (answering after {server.started_in:.1f} s)")
                print(f"  load average {load_start} (start)")
                arg = (server.port, paths)
                warm = run_processes(http_reviewer, [(*arg, r, queue.pk, 1) for r in reviewers], server)
                if warm["errors"]:
                    print(f"  warm-up errors: {errors_text(warm['errors'])}")
                peak.take()
                sequential = run_processes(http_reviewer, [(*arg, reviewers[0], queue.pk, args.sequential)], server)
                print_phase(f"sequential, 1 reviewer × {args.sequential}", sequential, peak.take())
                concurrent = run_processes(
                    http_reviewer, [(*arg, r, queue.pk, args.rounds) for r in reviewers[1:]], server
                )
                concurrent_peak = peak.take()
                print_phase(f"concurrent, {args.reviewers} reviewers × {args.rounds}", concurrent, concurrent_peak)
                print(
                    f"    {'CPU (cores)':<18} client {concurrent['client_cores']:.2f}, server"
                    f" {concurrent['server_cores']:.2f}, machine {concurrent['machine_cores']:.2f}"
                    f" of {os.cpu_count()}"
                )
                if any(k.split()[1].startswith("5") for k in concurrent["errors"] + sequential["errors"] if " " in k):
                    print(f"  server log (last lines):\n{server.log_tail(15)}")
            by_task, by_clip = database_duplicates(queue.pk)
            from_responses = response_duplicates(warm, sequential, concurrent)
            load_end = load_average()
            print(
                f"    {'duplicates':<18} responses {from_responses}, database: tasks with >1 annotation {by_task},"
                f" clips with >1 annotation {by_clip}"
            )
            print(f"  load average {load_end} (end)")
            runs[server.label] = {
                "sequential": sequential,
                "concurrent": concurrent,
                "peak": concurrent_peak,
                "dups": f"{from_responses}, {by_task + by_clip}",
                "load": (load_start, load_end),
            }
        flush_bench_redis()

        print("\n  -- SQL statements per request (in process: django.test.Client, CaptureQueriesContext)")
        try:
            statements = count_statements(queue.pk, reviewers[0], paths)
        except Exception as exc:  # the code under measurement may be mid-change: report, and go on to the floor
            print(f"    not measured: {type(exc).__name__}: {exc}")
            statements = {}
            connections.close_all()
        for what, sql in statements.items():
            target, done = TARGET_STATEMENTS[what], len(work(sql))
            print(
                f"    {what:<12} {done:>3} {mark(done <= target)} (target ≤ {target}; {len(sql)} with transaction"
                f" control): {statement_kinds(sql)}"
            )
        flush_bench_redis()

        print("\n  -- raw-SQL floor (psycopg, no HTTP, no Django)")
        print(f"  load average {load_average()} (start)")
        floor_arg = (url, insert)
        peak.take()
        floor_sequential = run_processes(floor_reviewer, [(*floor_arg, users[0].pk, queue.pk, args.sequential)])
        print_phase(f"sequential, 1 connection × {args.sequential}", floor_sequential, peak.take())
        floor_concurrent = run_processes(floor_reviewer, [(*floor_arg, u.pk, queue.pk, args.rounds) for u in users[1:]])
        print_phase(f"concurrent, {args.reviewers} connections × {args.rounds}", floor_concurrent, peak.take())
        by_task, by_clip = database_duplicates(queue.pk)
        print(
            f"    {'duplicates':<18} responses {response_duplicates(floor_sequential, floor_concurrent)}, database:"
            f" tasks with >1 annotation {by_task}, clips with >1 annotation {by_clip}"
        )
        print(f"  load average {load_average()} (end)")
    finally:
        peak.stop()
    floor = {"sequential": floor_sequential, "concurrent": floor_concurrent}
    print_summary(tasks, args.reviewers, runs, floor, statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="10k", help="open task counts, comma-separated (10000, 10k, 1m)")
    parser.add_argument("--servers", default="uvicorn", help="uvicorn, daphne or both, comma-separated")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (daphne is one process)")
    parser.add_argument("--reviewers", type=int, default=16, help="reviewers at once")
    parser.add_argument("--rounds", type=int, default=50, help="claim → submit pairs per reviewer at once")
    parser.add_argument("--sequential", type=int, default=200, help="claim → submit pairs of one reviewer alone")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    sizes = [size(t) for t in args.tasks.split(",")]

    print(f"cpu cores        {os.cpu_count()} (shared by the clients, the server and PostgreSQL)")
    print(f"load average     {load_average()} (before)")
    with _setup.admin_connection() as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        max_connections = conn.execute("SHOW max_connections").fetchone()[0]
    print(f"PostgreSQL       {version}, max_connections {max_connections}")
    print(
        f"workload         warm-up 1 pair per reviewer; 1 reviewer × {args.sequential} pairs; "
        f"{args.reviewers} reviewers × {args.rounds} pairs at once; a new TCP connection per request"
    )

    with tempfile.TemporaryDirectory(prefix="annotate-bench-http-") as scratch:
        folder = Path(scratch)
        env = {**clean_environ(), **production_env(folder)}
        started = time.perf_counter()
        collected = manage(env, "collectstatic", "--no-input", "-v0")
        if collected.returncode:
            raise SystemExit(f"collectstatic failed:\n{collected.stdout}{collected.stderr}")
        check = manage({**env, "DATABASE_URL": _setup.database_url("postgres")}, "check", "--deploy")
        if check.returncode:
            raise SystemExit(f"manage.py check --deploy failed:\n{check.stdout}{check.stderr}")
        checked = (check.stdout + check.stderr).strip().splitlines()[-1]
        print(
            f"settings         production (DEBUG off, throw-away keys; check --deploy: {checked});"
            f" collectstatic and check {time.perf_counter() - started:.1f} s; Redis {REDIS_URL};"
            f" the default psycopg pool (ANNOTATE_DB_POOL_* unset) in each server process"
        )
        # This process reads the same settings (the sessions it writes must be the server's), without the pool:
        # it re-points its connection from one bench database to the next.
        os.environ.update(env)
        os.environ["ANNOTATE_DB_POOL_MAX"] = "0"
        try:
            for tasks in sizes:
                bench_size(args, tasks, env, folder)
        finally:
            from django.apps import apps

            if apps.ready:
                from django.db import connections

                connections.close_all()
            flush_bench_redis()
            if not args.keep:
                for tasks in sizes:
                    _setup.drop_database(f"{DB_PREFIX}{tasks}")


if __name__ == "__main__":
    main()
