"""What the review page transfers besides audio, as Chromium counts it: one line per response and the total.

    .venv/bin/python bench/page_weight.py            # production static files (collectstatic, WhiteNoise)
    .venv/bin/python bench/page_weight.py --plain    # source folders, no manifest, nothing compressed
    .venv/bin/python bench/page_weight.py --url http://127.0.0.1:8000 --user rita --password annotate-demo --queue 1

Without --url it sets up its own world in a temporary folder (SQLite, no Redis): migrate,
a reviewer and a queue, three demo clips ingested and transcribed by Whisper in process.
Then, by default, `collectstatic` (hashed names, gzip copies: CompressedManifestStaticFilesStorage)
and `manage.py runserver --noreload` with DEBUG off, so CSS and JS come through WhiteNoise
as in production (and in `make demo`); with --plain, `runserver --insecure` serves the
source folders under plain names (ANNOTATE_STATIC_MANIFEST=0, the browser tests' way).

A new headless Chromium context (empty cache) signs in, opens /review/<queue>/ and waits
until the clip is ready, the next one prefetched and the network quiet. Transferred
bytes are DevTools' figure: headers included, bodies as sent (compressed or not). The
audio (signed /audio/ URLs and the blob: copies played) is left out. Issue 13's budget
is 150 KB; tests/test_page_weight_browser.py asserts it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._world import BENCH_PASSWORD, BENCH_USER, bench_env, server, set_up  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
BUDGET_KB = 150


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain", action="store_true", help="serve the source folders (no collectstatic)")
    parser.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8000 (default: start one)")
    parser.add_argument("--user", default="rita", help="with --url: the reviewer")
    parser.add_argument("--password", default="annotate-demo", help="with --url: the reviewer's password")
    parser.add_argument("--queue", type=int, default=1, help="with --url: the queue id")
    args = parser.parse_args()

    if args.url:
        responses = measure(args.url.rstrip("/"), args.user, args.password, args.queue)
    else:
        with tempfile.TemporaryDirectory(prefix="annotate-bench-") as folder:
            env = bench_env(Path(folder), manifest=not args.plain)
            queue_id, _ = set_up(env, 3)
            if not args.plain:
                started = time.perf_counter()
                run([sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"], env)
                print(f"collectstatic    {time.perf_counter() - started:.0f} s (hashed names, gzip copies)")
            with server(env, insecure=args.plain) as url:
                responses = measure(url, BENCH_USER, BENCH_PASSWORD, queue_id)
    report(responses)


# --- our own world (bench/_world.py) -------------------------------------------------


def run(command: list[str], env: dict[str, str]) -> str:
    return subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout


# --- the browser ------------------------------------------------------------------


def measure(url: str, user: str, password: str, queue_id: int) -> list[dict]:
    """Sign in, then open the review page in a fresh context and record every response's size."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.goto(f"{url}/login/")
        page.fill("#id_username", user)
        page.fill("#id_password", password)
        page.keyboard.press("Enter")
        page.wait_for_url(lambda address: "/login/" not in address)
        cookies = context.cookies()
        context.close()

        context = browser.new_context(viewport={"width": 1366, "height": 900})  # an empty cache
        context.add_cookies(cookies)
        page = context.new_page()
        page.add_init_script("localStorage.setItem('annotate.review.autoplay', '0')")
        responses: dict[str, dict] = {}
        sizes: dict[str, int] = {}
        cdp = context.new_cdp_session(page)
        cdp.on("Network.responseReceived", lambda e: responses.__setitem__(e["requestId"], e))
        cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
        cdp.send("Network.enable")
        page.goto(f"{url}/review/{queue_id}/")
        page.wait_for_function("() => window.__review && (window.__review.ready || window.__review.view === 'empty')")
        page.wait_for_function("() => window.__review.held.length < 2 || window.__review.held[1].audioReady")
        page.wait_for_load_state("networkidle")
        if page.evaluate("window.__review.view") == "empty":
            print("note             the queue is empty: the page was measured without a clip")
        browser.close()

    done = []
    for request_id, wire in sizes.items():
        if request_id not in responses:
            continue
        response = responses[request_id]["response"]
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        done.append(
            {
                "url": response["url"],
                "type": responses[request_id].get("type", ""),
                "encoding": headers.get("content-encoding", ""),
                "wire": wire,
                "audio": response.get("mimeType", "").startswith("audio/") or "/audio/" in response["url"],
            }
        )
    return done


def report(responses: list[dict]) -> None:
    for r in sorted(responses, key=lambda r: -r["wire"]):
        path = r["url"].split("/", 3)[-1]
        print(f"{r['wire'] / 1024:8.1f} KB  {r['encoding'] or '-':5} {r['type']:10} /{path[:90]}")
    by_kind: dict[str, int] = {}
    for r in responses:
        if not r["audio"]:
            by_kind[r["type"]] = by_kind.get(r["type"], 0) + r["wire"]
    rest = sum(by_kind.values())
    audio = sum(r["wire"] for r in responses if r["audio"])
    print("by kind          " + ", ".join(f"{kind} {size / 1024:.1f} KB" for kind, size in sorted(by_kind.items())))
    print(f"audio            {audio / 1024:.1f} KB (not counted)")
    verdict = "within" if rest <= BUDGET_KB * 1024 else "OVER"
    print(f"transferred      {rest / 1024:.1f} KB besides audio, {len(responses)} responses")
    print(f"budget           {BUDGET_KB} KB: {verdict}")


if __name__ == "__main__":
    main()
