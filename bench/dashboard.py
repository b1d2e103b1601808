"""The live dashboard's numbers on PostgreSQL: how long one recomputation takes.

    .venv/bin/python bench/dashboard.py [--tasks 100k,1m] [--reviewers 64] [--reviewed 20000] [--runs 20] [--keep]

For each size N it creates a database annotate_bench_dash_<N> (server of
BENCH_DATABASE_URL), adds N open tasks in one queue and --reviewed done tasks with
annotations from the last day spread over the reviewers, then times
leads.selectors.dashboard() --runs times. Each connected dashboard recomputes at
most once per ANNOTATE_DASHBOARD_THROTTLE_SECONDS, so this time is what a busy
floor costs per lead per throttle period. Prints p50/p95 ms and the query count.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup  # noqa: E402


def size(text: str) -> int:
    text = text.strip().lower()
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def run(n: int, args) -> None:
    name = f"annotate_bench_dash_{n}"
    _setup.use_database(name)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotate.leads import selectors
    from annotate.queues.models import Queue

    queue = Queue.objects.create(name="bench", overlap=1)
    users = _setup.make_users("reviewer", args.reviewers, "reviewer")
    _setup.fill_queue(queue, n)
    _setup.add_history(queue, users, max(1, args.reviewed // args.reviewers))
    selectors.dashboard()  # warm up
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            data = selectors.dashboard()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(
        f"tasks {n:>9,}  reviewed/24h {data['totals']['last_24h']:>7,}  "
        f"p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  queries {len(queries)}"
    )
    if not args.keep:
        connection.close()
        _setup.drop_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="100k", help="comma-separated sizes, e.g. 10k,100k,1m")
    parser.add_argument("--reviewers", type=int, default=64)
    parser.add_argument("--reviewed", type=int, default=20_000, help="annotations in the last 24 hours")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    for n in [size(s) for s in args.tasks.split(",")]:
        run(n, args)


if __name__ == "__main__":
    main()
