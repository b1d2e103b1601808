"""Submit key to the next clip playing and editable, in headless Chromium: p50 / p95 / max in ms.

    .venv/bin/python bench/review_browser.py [--clips 20] [--latency-ms 150] [--before 773426b]
    .venv/bin/python bench/review_browser.py --url http://127.0.0.1:8000 --user rita --password annotate-demo --queue 1

Without --url it sets up its own world in a temporary folder (SQLite, no Redis):
migrate, a reviewer and a queue, the demo clips ingested and transcribed by
Whisper in process, then `manage.py runserver --noreload --insecure` (Daphne) on
a free port, stopped and removed at the end. With --url it uses a running
server and consumes clips from the given reviewer's queue. With --before REV it
first runs the same measurement on the code of that git revision (`git archive`
into a temporary folder, its own world), for a before/after comparison.

Chromium's DevTools network conditions (Network.emulateNetworkConditions) add
--latency-ms (default 150) to every request. A headless Chromium signs in and
reviews --clips clips with the keyboard, "Play each clip when it appears" on:
each time it waits, like a reviewer listening, until the next clip's audio is
prefetched, types a word, presses Ctrl+Enter, and waits for the next clip.

Measured in the page by a script added before the page's own (the same for any
version of the page), from the key press's event time:

    shown     the next clip is on screen with the cursor in its editable transcript
    playing   … and its audio is playing: the media element's "playing" event (the
              target: p95 under 50 ms)
    moving    … and its playhead has moved (currentTime > 0, checked every frame): the
              audio is running; Chromium may deliver the "playing" event later than that

and, when the page reports them (window.__review.timings), its own figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._world import BENCH_PASSWORD, BENCH_USER, bench_env, server, set_up  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20, help="clips to submit (default 20)")
    parser.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8000 (default: start one)")
    parser.add_argument("--user", default="rita", help="with --url: the reviewer")
    parser.add_argument("--password", default="annotate-demo", help="with --url: the reviewer's password")
    parser.add_argument("--queue", type=int, default=1, help="with --url: the queue id")
    parser.add_argument("--think-ms", type=int, default=300, help="pause on each clip before submitting")
    parser.add_argument("--latency-ms", type=int, default=150, help="emulated network latency (DevTools), 0 for none")
    parser.add_argument("--before", metavar="REV", help="also measure the page at this git revision first")
    parser.add_argument("--json", action="store_true", help="also print the raw timings as JSON")
    args = parser.parse_args()

    if args.url:
        result = run_browser(args.url.rstrip("/"), args.user, args.password, args.queue, args, label="this server")
        report(result)
        if args.json:
            print(json.dumps(result, indent=1))
        return

    results = []
    if args.before:
        with tempfile.TemporaryDirectory(prefix="annotate-bench-before-") as folder:
            tree = export_revision(args.before, Path(folder) / "tree")
            results.append(run_own_world(tree, Path(folder), args, label=f"before ({args.before})"))
    with tempfile.TemporaryDirectory(prefix="annotate-bench-") as folder:
        results.append(run_own_world(ROOT, Path(folder), args, label="now (working tree)"))
    for result in results:
        report(result)
    if len(results) == 2:
        compare(*results)
    if args.json:
        print(json.dumps(results, indent=1))


def run_own_world(root: Path, folder: Path, args, *, label: str) -> dict:
    env = bench_env(folder, root=root)
    queue_id, available = set_up(env, args.clips + 1, root=root)
    clips = args.clips
    if available <= clips:
        print(f"note             only {available} demo clips: submitting {available - 1}")
        clips = available - 1
    with server(env, root=root) as url:
        return run_browser(url, BENCH_USER, BENCH_PASSWORD, queue_id, args, label=label, clips=clips)


def export_revision(rev: str, into: Path) -> Path:
    """The code at `rev` (git archive: no change to the repository), with this checkout's node_modules."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    (into / "node_modules").symlink_to(ROOT / "node_modules")
    print(f"before           {rev} exported to {into}")
    return into


# --- the page's timings ------------------------------------------------------------


MEASURE = """
(() => {
  const bench = (window.__bench = { samples: [], pending: null, lastPlaying: 0 });
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function (...args) {
    if (!this.__benchWatched) {
      this.__benchWatched = true;
      this.addEventListener("playing", () => {
        bench.lastPlaying = performance.now();
        bench.check();
      });
    }
    if (bench.pending && !bench.pending.media) {
      // The playhead of the element played after the key: checked every frame until it moves.
      const p = (bench.pending.media = this) && bench.pending;
      const tick = () => {
        if (bench.pending !== p) return;
        if (!this.paused && this.currentTime > 0) {
          p.moving = performance.now();
          bench.check();
        } else requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    }
    return play.apply(this, args);
  };
  document.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey && event.key === "Enter")) return;
    const root = document.getElementById("review");
    bench.pending = { from: root ? root.dataset.taskId : "", at: event.timeStamp, shown: 0, playing: 0, moving: 0 };
  }, true);
  bench.check = () => {
    const p = bench.pending;
    if (!p) return;
    const root = document.getElementById("review");
    const text = document.getElementById("transcript");
    const id = root ? root.dataset.taskId : "";
    const editable = document.activeElement === text && !text.readOnly;
    if (!p.shown && id && id !== p.from && editable) p.shown = performance.now();
    if (!p.playing && bench.lastPlaying > p.at) p.playing = bench.lastPlaying;
    if (p.shown && p.playing && p.moving) {
      bench.samples.push({
        shown_ms: p.shown - p.at,
        playing_ms: Math.max(p.shown, p.playing) - p.at,
        moving_ms: Math.max(p.shown, p.moving) - p.at,
      });
      bench.pending = null;
    }
  };
  new MutationObserver(() => bench.check()).observe(document, {
    subtree: true, attributes: true, attributeFilter: ["data-task-id", "data-ready"],
  });
})();
"""


def run_browser(
    url: str, user: str, password: str, queue_id: int, args, *, label: str, clips: int | None = None
) -> dict:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    clips = args.clips if clips is None else clips
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        context.add_init_script("localStorage.setItem('annotate.review.autoplay', '1')")
        context.add_init_script(MEASURE)
        page = context.new_page()
        page.on("pageerror", lambda error: print(f"page error       {error}"))
        if args.latency_ms:
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send(
                "Network.emulateNetworkConditions",
                {"offline": False, "latency": args.latency_ms, "downloadThroughput": -1, "uploadThroughput": -1},
            )
        page.goto(f"{url}/login/?next=/review/{queue_id}/")
        page.fill("#id_username", user)
        page.fill("#id_password", password)
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/review/{queue_id}/")
        first_clip = "() => window.__review && (window.__review.ready || window.__review.view === 'empty')"
        try:
            page.wait_for_function(first_clip, timeout=20_000)
        except PlaywrightTimeout:  # the first clip's audio never became playable: load the page again
            print("note             the first clip did not become playable in 20 s: reloading")
            page.reload()
            page.wait_for_function(first_clip)

        missed = unprefetched = 0
        for n in range(clips):
            if page.evaluate("() => window.__review.view") == "empty":
                print(f"note             the queue ran out after {n} clips")
                break
            # A reviewer listens for a while: by then the next clip is prefetched.
            try:
                # (With the outbox the page claims the next clip once the last submit is stored.)
                page.wait_for_function(
                    "() => window.__review.held.length >= 2 && window.__review.held[1].audioReady", timeout=5_000
                )
            except PlaywrightTimeout:
                unprefetched += 1  # the end of the queue (or a slow claim): measured as it is
            page.wait_for_timeout(args.think_ms)
            page.keyboard.press("End")
            page.keyboard.type(" ok")
            count = page.evaluate("() => window.__bench.samples.length")
            page.keyboard.press("Control+Enter")
            try:
                page.wait_for_function(
                    "(count) => window.__review.view === 'empty' || window.__bench.samples.length > count",
                    arg=count,
                    timeout=10_000,
                )
            except PlaywrightTimeout:
                missed += 1  # the next clip never reported playing: counted, not measured
                page.evaluate("() => { window.__bench.pending = null; }")
        if unprefetched:
            print(f"note             {unprefetched} clips submitted before the next one was prefetched")
        if missed:
            print(f"note             {missed} clips never reported playing within 10 s (left out)")
        result = {
            "label": label,
            "latency_ms": args.latency_ms,
            "samples": page.evaluate("() => window.__bench.samples"),
            "page": page.evaluate("() => window.__review.timings"),
        }
        browser.close()
    return result


# --- figures ----------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))  # nearest rank
    return ordered[index]


def summary(values: list[float]) -> tuple[float, float, float]:
    return percentile(values, 0.5), percentile(values, 0.95), max(values)


def report(result: dict) -> None:
    samples = result["samples"]
    print()
    print(f"== {result['label']}: {len(samples)} clips submitted, {result['latency_ms']} ms emulated latency")
    if not samples:
        print("no clips were submitted and shown")
        return
    print(f"{'ms from the key':<22} {'p50':>7} {'p95':>7} {'max':>7}")
    series = {
        "shown, editable": [s["shown_ms"] for s in samples],
        "playing and editable": [s["playing_ms"] for s in samples],
        "playhead moving": [s["moving_ms"] for s in samples],
    }
    page = result.get("page") or []
    if page and "post_ms" in page[0]:  # the page before the outbox: it waited for the submit's answer
        series["(page) submit answer"] = [t["post_ms"] for t in page]
        series["(page) playable"] = [t["playable_ms"] for t in page]
    elif page:
        series["(page) shown"] = [t["shown_ms"] for t in page]
        series["(page) playable"] = [t["playable_ms"] for t in page]
    for name, values in series.items():
        p50, p95, top = summary(values)
        print(f"{name:<22} {p50:7.1f} {p95:7.1f} {top:7.1f}")


def compare(before: dict, after: dict) -> None:
    if not before["samples"] or not after["samples"]:
        return
    old = summary([s["playing_ms"] for s in before["samples"]])
    new = summary([s["playing_ms"] for s in after["samples"]])
    print()
    print(f"submit key → next clip playing and editable, {after['latency_ms']} ms latency:")
    print(f"  before  p50 {old[0]:7.1f}  p95 {old[1]:7.1f} ms")
    print(f"  after   p50 {new[0]:7.1f}  p95 {new[1]:7.1f} ms")


if __name__ == "__main__":
    main()
