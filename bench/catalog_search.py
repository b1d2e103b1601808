"""Catalog search latency (p50/p95) on a catalog of 100,000 entries, on SQLite and PostgreSQL.

Generates the catalog (the demo catalog plus made-up names, seeded), imports it
through the real import service into a fresh database, then times the search
the review page calls (`selectors.search_entities`), with and without a kind,
for exact names, aliases, typos and prefixes; and span suggestions.

    .venv/bin/python bench/catalog_search.py                       # SQLite and PostgreSQL
    .venv/bin/python bench/catalog_search.py --databases sqlite --entries 20000
    BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/catalog_search.py

Both databases are timed with the in-memory trigram index ranked by rapidfuzz
(ANNOTATE_CATALOG_SEARCH=memory, the default); PostgreSQL also with pg_trgm
ranked by rapidfuzz (=trigram). Each database is benchmarked in a child process
with its own DATABASE_URL; a scratch database is created and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo" / "catalog.jsonl"
SEED = 4242
SYLLABLES = (
    "ka ri mo la ve ne sa to ri an el is or um ba de fi go hu jo ky lu mi no pa qu ro si tu vi wa xe yo za "
    "bri cla dra fen gra hol jin kor lem mar nor pel quin ros sol tam ush val wen yar zel"
).split()
WORDS = (
    "velvet golden silver neon midnight electric paper crystal wild quiet lonely broken burning frozen hollow "
    "lucky restless sunday purple scarlet heart fire river ocean moon star city road summer winter rain storm "
    "light shadow dream ghost garden mirror window echo thunder diamond rose wolf tiger lantern arrow highway "
    "harbor canyon desert island satellite signal engine parade carousel"
).split()
KINDS = ["artist"] * 3 + ["song"] * 5 + ["album"] * 2 + ["podcast", "app", "place"]


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).title()


def made_up(rng: random.Random, kind: str) -> str:
    if kind == "artist":
        return rng.choice([f"{word(rng)} {word(rng)}", f"The {rng.choice(WORDS).title()} {word(rng)}s", word(rng)])
    if kind in ("song", "album"):
        n = rng.randint(1, 4)
        return " ".join(rng.choice([rng.choice(WORDS), word(rng)]).title() for _ in range(n))
    return f"{word(rng)} {rng.choice(WORDS).title()}"


def generate(entries: int, path: Path) -> list[dict]:
    rng = random.Random(SEED)
    rows = [json.loads(line) for line in DEMO.read_text().splitlines() if line.strip()]
    n = 0
    while len(rows) < entries:
        n += 1
        kind = rng.choice(KINDS)
        name = made_up(rng, kind)
        aliases = [made_up(rng, kind)] if rng.random() < 0.15 else []
        rows.append(
            {
                "kind": kind,
                "name": name,
                "aliases": aliases,
                "external_ids": {"bench": f"b{n}"},
                "popularity": min(int(rng.expovariate(1 / 12)), 100),
            }
        )
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[:entries]))
    return rows[:entries]


def typo(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(max(1, len(chars) // 8)):
        i = rng.randrange(len(chars))
        op = rng.choice(["drop", "swap", "replace"])
        if op == "drop" and len(chars) > 3:
            del chars[i]
        elif op == "swap" and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            chars[i] = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return "".join(chars)


def queries(rows: list[dict], count: int) -> list[tuple[str, str | None, str]]:
    """(query, kind or None, what) — a mix of what reviewers type."""
    rng = random.Random(SEED + 1)
    out = []
    for i in range(count):
        row = rows[rng.randrange(len(rows))] if i % 2 else rows[rng.randrange(min(len(rows), 3900))]
        name = rng.choice([row["name"], *row["aliases"]])
        what = ["exact", "typo", "prefix", "lower"][i % 4]
        q = {"exact": name, "typo": typo(rng, name), "prefix": name[: max(3, len(name) // 2)], "lower": name.lower()}[
            what
        ]
        out.append((q, row["kind"] if i % 3 == 0 else None, what))
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def child(args) -> None:
    """Runs with DATABASE_URL set: migrate, import, time searches, print one JSON line."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import override_settings

    from annotate.catalog import importer, selectors, services
    from annotate.catalog import index as catalog_index
    from annotate.catalog.models import EntityKind

    call_command("migrate", verbosity=0)
    path = Path(args.file)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    report = services.import_catalog(rows=importer.read_file(path))
    reimport = services.import_catalog(rows=importer.read_file(path))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE catalog_entity")
    kinds = {k.slug: k for k in EntityKind.objects.all()}
    qs = queries(rows, args.queries)

    started = time.perf_counter()
    catalog_index.get_index()
    index_build = time.perf_counter() - started

    backends = ["memory", "trigram"] if connection.vendor == "postgresql" else ["memory"]
    searches = {}
    for backend in backends:
        with override_settings(ANNOTATE_CATALOG_SEARCH=backend):
            for q, kind, _ in qs[:20]:  # warm up caches and the connection
                selectors.search_entities(query=q, kind=kinds[kind] if kind else None)
            timings: dict[str, list[float]] = {"all": [], "nokind": [], "kind": []}
            hits = 0
            for q, kind, what in qs:
                t = time.perf_counter()
                results = selectors.search_entities(query=q, kind=kinds[kind] if kind else None)
                ms = (time.perf_counter() - t) * 1000
                timings["all"].append(ms)
                timings["kind" if kind else "nokind"].append(ms)
                timings.setdefault(what, []).append(ms)
                hits += bool(results)
            top1 = 0
            for row in rows[:300]:
                results = selectors.search_entities(query=row["name"], kind=kinds[row["kind"]])
                top1 += bool(results) and results[0]["name"] == row["name"]
            searches[backend] = {
                "ms": {
                    name: {"p50": round(percentile(v, 0.5), 2), "p95": round(percentile(v, 0.95), 2), "n": len(v)}
                    for name, v in timings.items()
                },
                "with_results": f"{hits}/{len(qs)}",
                "top1": f"{top1}/300",
            }
    texts = [f"play {q} by {r['name']}" for (q, _, _), r in zip(qs[:200], rows, strict=False)]
    suggest = []
    for text in texts:
        t = time.perf_counter()
        selectors.suggest_spans(text=text)
        suggest.append((time.perf_counter() - t) * 1000)
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "entries": len(rows),
                "import": report.text(),
                "reimport": reimport.text(),
                "index_build_seconds": round(index_build, 2),
                "searches": searches,
                "suggest_ms": {"p50": round(percentile(suggest, 0.5), 2), "p95": round(percentile(suggest, 0.95), 2)},
            }
        )
    )


def run(database: str, url: str, file: Path, args) -> dict | None:
    env = {**os.environ, "DATABASE_URL": url}
    cmd = [sys.executable, __file__, "--child", "--file", str(file), "--queries", str(args.queries)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        print(f"{database}: failed\n{proc.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def postgres_scratch(base_url: str):
    import psycopg

    name = f"annotate_bench_{os.getpid()}"
    admin = psycopg.connect(base_url, autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")
    url = base_url.rsplit("/", 1)[0] + "/" + name

    def drop():
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()

    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "catalog.jsonl"
        generate(args.entries, file)
        print(f"catalog: {args.entries} entries ({file.stat().st_size / 1e6:.1f} MB), {args.queries} queries")
        results = []
        for database in args.databases.split(","):
            if database == "sqlite":
                results.append(run("sqlite", f"sqlite:///{tmp}/bench.sqlite3", file, args))
            elif database == "postgres":
                base = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
                try:
                    url, drop = postgres_scratch(base)
                except Exception as exc:  # noqa: BLE001 - report and go on with the other database
                    print(f"postgres: not available ({exc})", file=sys.stderr)
                    continue
                try:
                    results.append(run("postgres", url, file, args))
                finally:
                    drop()
        for r in filter(None, results):
            print()
            print(f"== {r['database']}, {r['entries']} entries")
            print(f"   import: {r['import']}")
            print(f"   re-import: {r['reimport']}")
            print(f"   in-memory index build: {r['index_build_seconds']} s")
            for backend, result in r["searches"].items():
                print(
                    f"   search ({backend}): {result['with_results']} queries found something, "
                    f"exact name top-1 {result['top1']}"
                )
                for name in ("all", "nokind", "kind", "exact", "lower", "prefix", "typo"):
                    v = result["ms"][name]
                    print(f"     {name:<7} p50 {v['p50']:7.2f} ms   p95 {v['p95']:7.2f} ms   (n={v['n']})")
            v = r["suggest_ms"]
            print(f"   suggest: p50 {v['p50']:.2f} ms   p95 {v['p95']:.2f} ms")


if __name__ == "__main__":
    main()
