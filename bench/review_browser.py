"""Submit to next clip playable, in headless Chromium: p50 / p95 / max in ms.

    .venv/bin/python bench/review_browser.py [--clips 20]
    .venv/bin/python bench/review_browser.py --url http://127.0.0.1:8000 --user rita --password annotate-demo --queue 1

Without --url it sets up its own world in a temporary folder (SQLite, no Redis):
migrate, a reviewer and a queue, the demo clips ingested and transcribed by
Whisper in process, then `manage.py runserver --noreload --insecure` (Daphne) on
a free port, stopped and removed at the end. With --url it uses a running
server and consumes clips from the given reviewer's queue.

A headless Chromium signs in and reviews --clips clips with the keyboard: each
time it waits, like a reviewer listening, until the next clip's audio is
prefetched, types a word, presses Ctrl+Enter, and waits for the next clip to be
playable. The page itself measures (window.__review.timings), from the key press:

    playable  until the next clip is shown with its audio ready (the target: under 100 ms)
    post      the submit request's round trip (included in playable)
    switch    playable - post: showing the prefetched clip
"""

from __future__ import annotations

import argparse
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
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
BENCH_USER = "bench-reviewer"
BENCH_PASSWORD = "bench-reviewer-password-1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20, help="clips to submit (default 20)")
    parser.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8000 (default: start one)")
    parser.add_argument("--user", default="rita", help="with --url: the reviewer")
    parser.add_argument("--password", default="annotate-demo", help="with --url: the reviewer's password")
    parser.add_argument("--queue", type=int, default=1, help="with --url: the queue id")
    parser.add_argument("--think-ms", type=int, default=300, help="pause on each clip before submitting")
    parser.add_argument("--json", action="store_true", help="also print the raw timings as JSON")
    args = parser.parse_args()

    if args.url:
        timings = run_browser(args.url.rstrip("/"), args.user, args.password, args.queue, args.clips, args.think_ms)
    else:
        with tempfile.TemporaryDirectory(prefix="annotate-bench-") as folder:
            env = bench_env(Path(folder))
            queue_id, available = set_up(env, args.clips + 1)
            if available <= args.clips:
                print(f"note             only {available} demo clips: submitting {available - 1}")
                args.clips = available - 1
            with server(env) as url:
                timings = run_browser(url, BENCH_USER, BENCH_PASSWORD, queue_id, args.clips, args.think_ms)

    report(timings)
    if args.json:
        print(json.dumps(timings, indent=1))


# --- our own server ---------------------------------------------------------------


def bench_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="annotate.settings",
        ANNOTATE_VAR_DIR=str(folder),
        ANNOTATE_DEBUG="0",
        ANNOTATE_STATIC_MANIFEST="0",  # runserver --insecure serves the source folders, no collectstatic
        PYTHONPATH=str(ROOT),
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


def set_up(env: dict[str, str], clips: int) -> tuple[int, int]:
    started = time.perf_counter()
    manifest = ROOT / "demo" / "manifest.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", SETUP, BENCH_USER, BENCH_PASSWORD, str(manifest), str(clips)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"set-up           {result['clips']} clips ingested and transcribed in {time.perf_counter() - started:.0f} s")
    return result["queue"], result["clips"]


class server:
    """`manage.py runserver` (Daphne) on a free port, for the duration of a with block."""

    def __init__(self, env: dict[str, str]):
        self.env = env

    def __enter__(self) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
            env=self.env,
            cwd=ROOT,
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
                print(f"server           {url} (runserver, Daphne)")
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


# --- the browser ------------------------------------------------------------------


def run_browser(url: str, user: str, password: str, queue_id: int, clips: int, think_ms: int) -> list[dict]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(f"{url}/login/?next=/review/{queue_id}/")
        page.fill("#id_username", user)
        page.fill("#id_password", password)
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/review/{queue_id}/")
        page.wait_for_function("() => window.__review && (window.__review.ready || window.__review.view === 'empty')")
        page.evaluate("localStorage.setItem('annotate.review.autoplay', '0')")  # quiet, and no audio device needed

        for n in range(clips):
            if page.evaluate("window.__review.view") == "empty":
                print(f"note             the queue ran out after {n} clips")
                break
            # A reviewer listens for a while: by then the next clip is prefetched.
            page.wait_for_function("() => window.__review.held.length < 2 || window.__review.held[1].audioReady")
            page.wait_for_timeout(think_ms)
            task_id = page.evaluate("window.__review.taskId")
            page.keyboard.press("End")
            page.keyboard.type(" ok")
            page.keyboard.press("Control+Enter")
            page.wait_for_function(
                "(taskId) => window.__review.view === 'empty'"
                " || (window.__review.taskId !== taskId && window.__review.ready)",
                arg=task_id,
                timeout=30_000,
            )
        timings = page.evaluate("window.__review.timings")
        browser.close()
    return timings


# --- figures ----------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))  # nearest rank
    return ordered[index]


def report(timings: list[dict]) -> None:
    if not timings:
        print("no clips were submitted and shown")
        return
    series = {
        "playable": [t["playable_ms"] for t in timings],
        "post": [t["post_ms"] for t in timings],
        "switch": [t["playable_ms"] - t["post_ms"] for t in timings],
    }
    print(f"clips            {len(timings)} submitted, each followed by the next clip")
    print(f"{'ms':<16} {'p50':>7} {'p95':>7} {'max':>7}")
    for name, values in series.items():
        print(f"{name:<16} {percentile(values, 0.5):7.1f} {percentile(values, 0.95):7.1f} {max(values):7.1f}")


if __name__ == "__main__":
    main()
