"""Peak memory and wall time of one ingest, for hostile recordings and normal ones.

    .venv/bin/python bench/ingest_memory.py [--cap-mb 6000] [--timeout 300] [--only NAME]

Each recording (the hostile ones of tests/test_ingest_bounds.py, a real 20 MB M4A
of five million packets, a normal 5 s Opus clip and the largest accepted WAV: 60 s,
44.1 kHz stereo) is ingested by the real service in a fresh child process, on a
throw-away PostgreSQL database (annotate_bench_ingest). Prints, per recording:
its size, the outcome, the child's resident memory before the ingest (Django and
the libraries loaded, the bytes read) and at its peak (VmHWM), and the ingest's
wall time. A child that passes --cap-mb of address space or --timeout seconds
is stopped and reported as such, so old code cannot take the machine down.
Redis is not needed: a stored clip's Whisper job stays recorded in the database.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup  # noqa: E402

DATABASE = "annotate_bench_ingest"

CHILD = """
import json, sys, time
import django
django.setup()
from annotate.clips import ingest
from tests.support import clip_meta

def rss(field):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field)) / 1024

data = open(sys.argv[1], "rb").read()
meta = ingest.parse_meta(clip_meta())
before = rss("VmHWM:")
started = time.perf_counter()
outcome = ingest.ingest_clip(data=data, meta=meta)
wall = time.perf_counter() - started
print(json.dumps({"status": outcome.status, "message": outcome.message, "before_mb": before,
                  "peak_mb": rss("VmHWM:"), "wall_s": wall}))
"""


def recordings() -> dict:
    """name -> a function of a scratch folder that makes the recording."""
    import numpy as np

    from tests import test_ingest_bounds as bounds

    made = {name: make for name, (make, _) in bounds.HOSTILE.items()}
    made["m4a-5m-packets-20mb"] = lambda tmp: bounds.repeated_silence(
        "ipod", "aac", 8000, 5_000_000 * 1024 / 8000, bit_rate=8000
    )
    made["normal-5s-opus"] = lambda tmp: bounds.encode("ogg", "libopus", bounds.tone(5, 48000), 48000, bit_rate=32000)
    made["largest-accepted-60s-44k-stereo-wav"] = lambda tmp: _tone_wav(59.9, 44100, 2, np)
    return made


def _tone_wav(seconds: float, rate: int, channels: int, np) -> bytes:
    import wave

    t = np.arange(int(seconds * rate)) / rate
    samples = np.repeat((0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2"), channels)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buf.getvalue()


def run_child(path: Path, storage: Path, url: str, cap_mb: int, timeout: int) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "annotate.settings",
        "DATABASE_URL": url,
        "ANNOTATE_PRIVATE_ROOT": str(storage),
        "REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens: the Whisper job stays in the database
        "PYTHONPATH": str(_setup.ROOT),
    }

    def cap() -> None:
        limit = cap_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)],
            env=env,
            cwd=_setup.ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=cap,  # noqa: PLW1509 (the child is a plain Python, started before any thread here)
        )
    except subprocess.TimeoutExpired:
        return {"failed": f"stopped after {timeout} s", "wall_s": time.perf_counter() - started}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        reason = f"over the {cap_mb} MB cap" if "MemoryError" in done.stderr else last[:60]
        return {"failed": reason, "wall_s": time.perf_counter() - started}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-mb", type=int, default=6000, help="address-space cap of each child (MB)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds before a child is stopped")
    parser.add_argument("--only", action="append", default=[], help="only this recording (repeatable)")
    args = parser.parse_args()
    url = _setup.use_database(DATABASE)
    try:
        with tempfile.TemporaryDirectory(prefix="ingest-memory-") as folder:
            tmp = Path(folder)
            print(f"{'recording':38} {'MB':>6} {'before':>7} {'peak':>7} {'wall s':>7}  outcome")
            for name, make in recordings().items():
                if args.only and name not in args.only:
                    continue
                data = make(tmp)
                path = tmp / "upload.bin"
                path.write_bytes(data)
                storage = tmp / "private"
                storage.mkdir(exist_ok=True)
                r = run_child(path, storage, url, args.cap_mb, args.timeout)
                size = len(data) / 1e6
                if "failed" in r:
                    print(f"{name:38} {size:6.2f} {'':>7} {'':>7} {r['wall_s']:7.2f}  {r['failed']}")
                else:
                    outcome = f"{r['status']} {r['message']}"
                    print(
                        f"{name:38} {size:6.2f} {r['before_mb']:7.0f} {r['peak_mb']:7.0f} {r['wall_s']:7.2f}  "
                        f"{outcome[:90]}"
                    )
    finally:
        from django.db import connections

        connections.close_all()
        _setup.drop_database(DATABASE)


if __name__ == "__main__":
    main()
