"""What WhiteNoise costs under ASGI (Daphne): its middleware is synchronous only.

Django adapts a sync-only middleware with a thread hop (sync_to_async in, async_to_sync
back out to the async middlewares below it), on every request, static or not. This
starts Daphne twice on collected static files, with and without the WhiteNoise
middleware, and times a dynamic page (/login/) sequentially and with concurrent clients,
then a static file through WhiteNoise. Prints figures; asserts nothing.

    .venv/bin/python bench/static_asgi.py [--requests 400] [--clients 16]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

NO_WHITENOISE = """
from annotate.settings import *  # noqa: F403
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "annotate.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/login/", timeout=2).status_code == 200:
                return proc, base
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"daphne did not start:\n{log.read_text()[-2000:]}")


def timed(session: requests.Session, url: str) -> float:
    started = time.perf_counter()
    response = session.get(url, timeout=30)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def sequential(url: str, count: int) -> list[float]:
    with requests.Session() as session:
        for _ in range(20):  # warm up
            timed(session, url)
        return [timed(session, url) for _ in range(count)]


def concurrent(url: str, count: int, clients: int) -> tuple[list[float], float]:
    sessions = [requests.Session() for _ in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        times = list(pool.map(lambda i: timed(sessions[i % clients], url), range(count)))
    wall = time.perf_counter() - started
    for session in sessions:
        session.close()
    return times, wall


def ms(values: list[float], q: float) -> str:
    return f"{statistics.quantiles(values, n=100)[int(q) - 1] * 1000:6.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="annotate-bench-static-") as folder:
        scratch = Path(folder)
        (scratch / "bench_no_whitenoise.py").write_text(NO_WHITENOISE)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANNOTATE_", "DATABASE_URL", "REDIS_URL"))}
        env.update(ANNOTATE_VAR_DIR=str(scratch / "var"), ANNOTATE_STATIC_ROOT=str(scratch / "static"))
        env.update(ANNOTATE_LOG_LEVEL="WARNING", PYTHONPATH=str(scratch), PYTHONWARNINGS="ignore")
        subprocess.run(
            [str(BIN / "python"), "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True
        )
        manifest = (scratch / "static" / "staticfiles.json").read_text()
        css = next(p for p in (scratch / "static" / "css").iterdir() if p.name.count(".") == 2 and p.suffix == ".css")
        print(f"requests {args.requests} per figure, {args.clients} concurrent clients; Daphne, one process")
        print(f"manifest entries {manifest.count(':') - 1}")
        print(f"{'setting':<24} {'page':<14} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>7}")
        for label, settings_module in (("with WhiteNoise", "annotate.settings"), ("without", "bench_no_whitenoise")):
            proc, base = start({**env, "DJANGO_SETTINGS_MODULE": settings_module}, scratch / f"{label}.log")
            try:
                seq = sequential(f"{base}/login/", args.requests)
                print(f"{label:<24} {'/login/ 1 by 1':<14} {ms(seq, 50)} {ms(seq, 95)} {ms(seq, 99)} {'':>7}")
                par, wall = concurrent(f"{base}/login/", args.requests, args.clients)
                rate = args.requests / wall
                page = f"/login/ x{args.clients}"
                print(f"{label:<24} {page:<14} {ms(par, 50)} {ms(par, 95)} {ms(par, 99)} {rate:7.0f}")
                if label == "with WhiteNoise":
                    static = sequential(f"{base}/static/css/{css.name}", args.requests)
                    print(f"{label:<24} {'a CSS file':<14} {ms(static, 50)} {ms(static, 95)} {ms(static, 99)} {'':>7}")
            finally:
                proc.terminate()
                proc.wait(10)


if __name__ == "__main__":
    main()
