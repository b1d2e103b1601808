"""Reading catalog files: JSONL or CSV, one entity per line, each with its line number.

JSONL: `{"kind", "name", "aliases": [...], "external_ids": {"musicbrainz": "…"}, "popularity"}`.
CSV (with a header): `kind,name,aliases,popularity,external_ids`, aliases
`|`-separated, external ids `scheme:value|scheme:value`. Only kind and name are
required. docs/entities.md has examples.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_NAME = 200
MAX_ALIASES = 50
MAX_POPULARITY = 100


@dataclass
class CatalogRow:
    line: int
    kind: str
    name: str
    aliases: list[str] = field(default_factory=list)
    external_ids: dict[str, str] = field(default_factory=dict)
    popularity: int = 0


@dataclass(frozen=True)
class BadRow:
    line: int
    message: str


def _clean(line: int, data: Any) -> CatalogRow | BadRow:
    if not isinstance(data, dict):
        return BadRow(line, "not an object")
    kind, name = data.get("kind"), data.get("name")
    if not isinstance(kind, str) or not kind.strip():
        return BadRow(line, "kind is missing")
    if not isinstance(name, str) or not name.strip():
        return BadRow(line, "name is missing")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        return BadRow(line, f"name is longer than {MAX_NAME} characters")
    aliases = data.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        return BadRow(line, "aliases must be a list of strings")
    aliases = list(dict.fromkeys(" ".join(a.split()) for a in aliases if a.strip() and a.strip() != name))
    if len(aliases) > MAX_ALIASES or any(len(a) > MAX_NAME for a in aliases):
        return BadRow(line, f"at most {MAX_ALIASES} aliases of at most {MAX_NAME} characters")
    ids = data.get("external_ids") or {}
    if not isinstance(ids, dict) or not all(
        isinstance(k, str) and k.strip() and isinstance(v, str) and v.strip() for k, v in ids.items()
    ):
        return BadRow(line, 'external_ids must map a scheme to an id, e.g. {"musicbrainz": "…"}')
    popularity = data.get("popularity", 0)
    if popularity in ("", None):
        popularity = 0
    if isinstance(popularity, str) and popularity.strip().isdigit():
        popularity = int(popularity)
    if not isinstance(popularity, int) or isinstance(popularity, bool) or not 0 <= popularity <= MAX_POPULARITY:
        return BadRow(line, f"popularity must be a whole number from 0 to {MAX_POPULARITY}")
    return CatalogRow(
        line=line,
        kind=kind.strip().lower(),
        name=name,
        aliases=aliases,
        external_ids={k.strip().lower(): v.strip() for k, v in ids.items()},
        popularity=popularity,
    )


def read_dicts(items: Iterator[Any] | list[Any]) -> Iterator[CatalogRow | BadRow]:
    """Rows from already-parsed objects (line numbers count from 1)."""
    for line, data in enumerate(items, start=1):
        yield _clean(line, data)


def read_jsonl(stream: io.BufferedIOBase) -> Iterator[CatalogRow | BadRow]:
    for line, raw in enumerate(stream, start=1):
        try:
            text = raw.decode("utf-8-sig" if line == 1 else "utf-8")
        except UnicodeDecodeError:
            yield BadRow(line, "not UTF-8 text")
            continue
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield BadRow(line, f"not valid JSON ({exc.msg})")
            continue
        yield _clean(line, data)


def _csv_ids(raw: str) -> dict[str, str] | None:
    ids = {}
    for part in raw.split("|"):
        if not part.strip():
            continue
        scheme, sep, value = part.partition(":")
        if not sep:
            return None
        ids[scheme.strip()] = value.strip()
    return ids


def read_csv(stream: io.TextIOBase) -> Iterator[CatalogRow | BadRow]:
    reader = csv.DictReader(stream)
    missing = {"kind", "name"} - set(reader.fieldnames or [])
    if missing:
        yield BadRow(1, f"the header must name the columns kind and name (missing: {', '.join(sorted(missing))})")
        return
    for record in reader:
        line = reader.line_num
        if None in record:
            yield BadRow(line, "more fields than the header has columns")
            continue
        ids = _csv_ids(record.get("external_ids") or "")
        if ids is None:
            yield BadRow(line, "external_ids must be scheme:id, separated by |")
            continue
        data = {
            "kind": record.get("kind") or "",
            "name": record.get("name") or "",
            "aliases": (record.get("aliases") or "").split("|"),
            "external_ids": ids,
            "popularity": (record.get("popularity") or "").strip(),
        }
        yield _clean(line, data)


def read_file(path: Path, *, format: str | None = None) -> Iterator[CatalogRow | BadRow]:
    """Rows of a catalog file; the format from the name (.jsonl, .csv) unless given."""
    kind = format or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    if kind == "csv":
        with path.open(encoding="utf-8-sig", newline="") as stream:
            yield from read_csv(stream)
    else:
        with path.open("rb") as stream:
            yield from read_jsonl(stream)
