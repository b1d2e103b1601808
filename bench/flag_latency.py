"""Flag to officer notification: how long from a reviewer's flag to the officer's WebSocket message.

    .venv/bin/python bench/flag_latency.py [--flags 50] [--warmup 5] [--database-url URL]

Sets up a scratch database (a temporary SQLite file by default; --database-url
for a scratch PostgreSQL database — the bench adds users, a queue and clips),
starts the real ASGI server (Daphne, `annotate.asgi:application`) in a
subprocess on a free loopback port, connects an officer's console to
ws/cases/ with a signed-in session (the `websockets` package,
requirements-dev.txt), then flags held clips one at a time over HTTP as the
reviewer would, and times each flag from just before the POST is sent until
the officer's socket receives that case's `case.new`. With REDIS_URL set the
channel layer is Redis (production, CI); unset, the in-memory layer (demo).
A PostgreSQL scratch database must exist (`createdb annotate_bench`); the
officers' e-mail jobs this run queues in Redis are removed at the end.

Prints p50, p95 and max of the notification latency and of the flag request
itself. Target (docs/DESIGN.md): notification under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def setup_data(n: int) -> dict:
    """Users, a queue, n transcribed clips held by the reviewer; sessions and a CSRF token."""
    import hashlib

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.middleware.csrf import CSRF_ALLOWED_CHARS
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from annotate.accounts import mfa, roles
    from annotate.accounts.services import assign_role_for_setup
    from annotate.clips.models import Clip, SealedIdentity
    from annotate.queues import claims
    from annotate.queues.models import Queue
    from annotate.queues.services import sample_clip

    call_command("migrate", verbosity=0)
    run = secrets.token_hex(3)
    reviewer = User.objects.create_user(f"bench-reviewer-{run}", password=secrets.token_urlsafe())
    officer = User.objects.create_user(f"bench-officer-{run}", password=secrets.token_urlsafe())
    assign_role_for_setup(user=reviewer, role=roles.REVIEWER, by="bench")
    assign_role_for_setup(user=officer, role=roles.OFFICER, by="bench")  # past the two-admin grant, audited
    queue = Queue.objects.create(name=f"bench {run}", locales=["xx-BENCH"])
    queue.members.add(reviewer)
    for i in range(n):
        clip = Clip.objects.create(
            content_sha256=hashlib.sha256(f"bench {run} {i}".encode()).hexdigest(),
            duration_ms=2000,
            locale="xx-BENCH",
            device_type="speaker",
            state=Clip.State.READY,
        )
        SealedIdentity.objects.create(clip=clip, account_hash="b" * 64, key_id="bench", ciphertext=b"bench")
        sample_clip(clip=clip)
    tasks = []
    while (task := claims.claim_next(user=reviewer, queue=queue)) is not None:
        tasks.append(task.pk)
    sessions = {}
    for name, user in (("reviewer", reviewer), ("officer", officer)):
        client = Client()
        client.force_login(user)
        if mfa.mfa_required(user):  # the officer has an authenticator and gave its code in this session
            session = client.session
            device = TOTPDevice.objects.create(user=user, name=mfa.AUTHENTICATOR_NAME, confirmed=True)
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        sessions[name] = client.cookies["sessionid"].value
    csrf = "".join(secrets.choice(CSRF_ALLOWED_CHARS) for _ in range(32))
    return {"tasks": tasks, "sessions": sessions, "csrf": csrf}


def start_server(port: int, env: dict, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "annotate.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"daphne exited:\n{log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("daphne did not start within 30 s")


def post_flag(port: int, data: dict, task_id: int) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"task_id": task_id, "category": "danger_now", "note": "bench"})
    conn.request(
        "POST",
        "/cases/api/flags",
        body=body,
        headers={
            "Content-Type": "application/json",
            "Cookie": f"sessionid={data['sessions']['reviewer']}; csrftoken={data['csrf']}",
            "X-CSRFToken": data["csrf"],
            "Host": f"127.0.0.1:{port}",
        },
    )
    response = conn.getresponse()
    payload = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, payload


def drop_mail_jobs(case_ids: set[int]) -> None:
    """With Redis, each new case queued an officers' e-mail job: remove this run's."""
    from django.conf import settings

    if not settings.REDIS_URL:
        return
    import django_rq

    queue = django_rq.get_queue("default")
    for job in queue.get_jobs():
        if job.func_name.endswith("send_case_mail") and job.args and job.args[0] in case_ids:
            job.delete()


async def measure(port: int, data: dict, warmup: int) -> tuple[list[float], list[float]]:
    from websockets.asyncio.client import connect

    arrived: dict[int, float] = {}
    waiters: dict[int, asyncio.Future] = {}
    notify_ms: list[float] = []
    request_ms: list[float] = []
    async with connect(
        f"ws://127.0.0.1:{port}/ws/cases/",
        origin=f"http://127.0.0.1:{port}",
        additional_headers={"Cookie": f"sessionid={data['sessions']['officer']}"},
    ) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello", hello

        async def reader():
            async for raw in ws:
                now = time.perf_counter()
                message = json.loads(raw)
                if message.get("type") == "case.new":
                    case_id = message["case"]["id"]
                    arrived[case_id] = now
                    if case_id in waiters and not waiters[case_id].done():
                        waiters[case_id].set_result(now)

        reading = asyncio.create_task(reader())
        try:
            for i, task_id in enumerate(data["tasks"]):
                started = time.perf_counter()
                status, payload = await asyncio.to_thread(post_flag, port, data, task_id)
                answered = time.perf_counter()
                if status != 201:
                    raise SystemExit(f"flag {i}: HTTP {status} {payload}")
                case_id = payload["receipt"]["case_id"]
                data.setdefault("cases", set()).add(case_id)
                if case_id not in arrived:
                    waiters[case_id] = asyncio.get_running_loop().create_future()
                    await asyncio.wait_for(waiters[case_id], 10)
                if i >= warmup:
                    notify_ms.append((arrived[case_id] - started) * 1000)
                    request_ms.append((answered - started) * 1000)
        finally:
            reading.cancel()
    return notify_ms, request_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flags", type=int, default=50, help="flags timed (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=5, help="flags sent first and not timed")
    parser.add_argument("--database-url", default="", help="a scratch database (default: a temporary SQLite file)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="annotate-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "annotate.settings",
        "ANNOTATE_VAR_DIR": str(scratch),
        "DATABASE_URL": args.database_url or f"sqlite:///{scratch / 'bench.sqlite3'}",
        "ANNOTATE_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "ANNOTATE_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings

    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    total = args.flags + args.warmup
    print(f"setting up {total} held clips ({database}, channel layer {layer}) …", flush=True)
    data = setup_data(total)
    if len(data["tasks"]) < total:
        raise SystemExit(f"only {len(data['tasks'])} tasks could be claimed")

    port = free_port()
    log = scratch / "daphne.log"
    server = start_server(port, env, log)
    try:
        notify_ms, request_ms = asyncio.run(measure(port, data, args.warmup))
    finally:
        server.terminate()
        server.wait(timeout=10)
        drop_mail_jobs(data.get("cases", set()))
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"flag → officer notification over ws/cases/ (Daphne, {database}, {layer}), {len(notify_ms)} flags:")
    for label, values in (("notification", notify_ms), ("flag request", request_ms)):
        print(
            f"  {label:<13} p50 {percentile(values, 50):7.1f} ms   p95 {percentile(values, 95):7.1f} ms   "
            f"max {max(values):7.1f} ms   mean {statistics.fmean(values):7.1f} ms"
        )
    target = percentile(notify_ms, 95) < 1000
    print(f"  target p95 < 1000 ms: {'met' if target else 'MISSED'}")


if __name__ == "__main__":
    main()
