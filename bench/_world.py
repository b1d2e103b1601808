"""A throw-away world for the browser benches (review_browser.py, page_weight.py): SQLite in a
temporary folder, no Redis, a reviewer and a queue with demo clips ingested and transcribed by
Whisper in process, and `manage.py runserver` (Daphne) serving it on a free port.

    env = bench_env(folder)                       # settings for every process of the world
    queue_id, clips = set_up(env, 3)              # migrate, BENCH_USER, a queue, 3 demo clips
    with server(env) as url: ...                  # the server, until the block ends

`root` is the checkout that runs (review_browser.py measures an earlier revision too).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_USER = "bench-reviewer"
BENCH_PASSWORD = "bench-reviewer-password-1"


def bench_env(folder: Path, *, root: Path = ROOT, manifest: bool = False) -> dict[str, str]:
    """manifest: static files collected (hashed names, gzip copies) and served by WhiteNoise, as in
    production; without it runserver --insecure serves the source folders under plain names."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="annotate.settings",
        ANNOTATE_VAR_DIR=str(folder),
        ANNOTATE_STATIC_ROOT=str(folder / "staticfiles"),
        ANNOTATE_DEBUG="0",
        ANNOTATE_STATIC_MANIFEST="1" if manifest else "0",
        PYTHONPATH=str(root),
    )
    return env


SETUP = """
import json, sys
import django
django.setup()
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from annotate.accounts import roles
from annotate.clips.ingest import ingest_clip, parse_meta
from annotate.queues.models import Queue

call_command("migrate", verbosity=0)
user = User.objects.create_user(username=sys.argv[1], password=sys.argv[2])
user.groups.add(Group.objects.get(name=roles.REVIEWER))
queue = Queue.objects.create(name="Bench: music and everyday requests")
queue.members.add(user)
manifest = __import__("pathlib").Path(sys.argv[3])
lines = [json.loads(l) for l in manifest.read_text().splitlines() if l.strip()]
lines = [l for l in lines if not l.get("opted_out")][: int(sys.argv[4])]
imported = 0
for line in lines:
    data = (manifest.parent / line["audio"]).read_bytes()
    imported += ingest_clip(data=data, meta=parse_meta(line, ignore=("audio",))).outcome == "imported"
print(json.dumps({"queue": queue.pk, "clips": imported}))
"""


def set_up(env: dict[str, str], clips: int, *, root: Path = ROOT) -> tuple[int, int]:
    """Migrate, the bench reviewer, a queue and `clips` demo clips: (queue id, clips imported)."""
    started = time.perf_counter()
    manifest = ROOT / "demo" / "manifest.jsonl"  # the same clips for every revision
    done = subprocess.run(
        [sys.executable, "-c", SETUP, BENCH_USER, BENCH_PASSWORD, str(manifest), str(clips)],
        env=env,
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"set-up           {result['clips']} clips ingested and transcribed in {time.perf_counter() - started:.0f} s")
    return result["queue"], result["clips"]


class server:
    """`manage.py runserver` (Daphne) on a free port, for the duration of a with block."""

    def __init__(self, env: dict[str, str], *, root: Path = ROOT, insecure: bool = True):
        self.env = env
        self.root = root
        self.insecure = insecure

    def __enter__(self) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.log = tempfile.TemporaryFile()
        command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
        self.process = subprocess.Popen(
            command + (["--insecure"] if self.insecure else []),
            env=self.env,
            cwd=self.root,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server stopped:\n{self.output()}")
            try:
                urllib.request.urlopen(f"{url}/login/", timeout=2).close()
                how = "source folders, plain names" if self.insecure else "collectstatic through WhiteNoise"
                print(f"server           {url} (runserver, Daphne; static: {how})")
                return url
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise SystemExit(f"the server did not start in 90 s:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
