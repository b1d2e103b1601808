"""Importing a folder of audio files or a JSONL manifest, one clip at a time.

Each file gets its own outcome and message; a bad file never stops the batch.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from annotate.clips import ingest

AUDIO_SUFFIXES = {".wav", ".mp3", ".ogg", ".opus", ".oga", ".flac", ".m4a", ".mp4", ".aac", ".webm"}


@dataclass
class Line:
    where: str  # "line 3 clips/a.ogg" or a file name
    outcome: ingest.Outcome


@dataclass
class Summary:
    lines: list[Line]

    @property
    def counts(self) -> Counter:
        return Counter(line.outcome.outcome for line in self.lines)

    def text(self) -> str:
        counts = self.counts
        return ", ".join(f"{counts.get(name, 0)} {name.replace('_', ' ')}" for name in ingest.OUTCOMES)


def import_root_for(path: Path) -> Path:
    if settings.ANNOTATE_IMPORT_ROOT:
        return Path(settings.ANNOTATE_IMPORT_ROOT).resolve()
    return (path if path.is_dir() else path.parent).resolve()


def _read_audio(path: Path, root: Path) -> bytes | ingest.Outcome:
    try:
        resolved = path.resolve()
    except ValueError:  # e.g. an embedded NUL byte
        return ingest.Outcome(ingest.REJECTED, "the path is not a valid file name", status=400)
    if not resolved.is_relative_to(root):
        return ingest.Outcome(ingest.REJECTED, f"the path is outside the import root {root}", status=400)
    if not resolved.is_file():
        return ingest.Outcome(ingest.REJECTED, "no such file", status=400)
    size = resolved.stat().st_size
    if size > settings.ANNOTATE_MAX_UPLOAD_BYTES:
        limit = settings.ANNOTATE_MAX_UPLOAD_BYTES
        return ingest.Outcome(
            ingest.REJECTED, f"the file is {size / 1e6:.1f} MB, over the {limit / 1e6:.1f} MB limit", status=413
        )
    try:
        return resolved.read_bytes()
    except OSError as exc:
        return ingest.Outcome(ingest.REJECTED, f"the file could not be read ({exc.strerror})", status=400)


def ingest_file(path: Path, root: Path, meta: ingest.ClipMeta) -> ingest.Outcome:
    data = _read_audio(path, root)
    if isinstance(data, ingest.Outcome):
        return data
    return ingest.ingest_clip(data=data, meta=meta)


def iter_manifest(manifest: Path) -> Iterator[Line]:
    root = import_root_for(manifest)
    base = manifest.parent
    with manifest.open("rb") as fh:
        for number, raw_bytes in enumerate(fh, start=1):
            where = f"line {number}"
            try:
                raw_line = raw_bytes.decode("utf-8")
            except UnicodeDecodeError:
                yield Line(where, ingest.Outcome(ingest.REJECTED, "not valid UTF-8", status=400))
                continue
            if not raw_line.strip():
                continue
            try:
                raw = json.loads(raw_line)
            except json.JSONDecodeError as exc:
                yield Line(where, ingest.Outcome(ingest.REJECTED, f"not valid JSON ({exc.msg})", status=400))
                continue
            audio_path = raw.get("audio") if isinstance(raw, dict) else None
            if not isinstance(audio_path, str) or not audio_path.strip():
                yield Line(where, ingest.Outcome(ingest.REJECTED, "missing field(s): audio", status=400))
                continue
            where = f"{where} {audio_path}"
            try:
                meta = ingest.parse_meta(raw, ignore=("audio",))
            except ingest.MetadataError as exc:
                yield Line(where, ingest.Outcome(ingest.REJECTED, str(exc), status=400))
                continue
            yield Line(where, ingest_file(base / audio_path, root, meta))


def iter_folder(folder: Path, *, locale: str, device_type: str) -> Iterator[Line]:
    """Audio files without a manifest: no identity, captured at the file's time."""
    root = import_root_for(folder)
    for path in sorted(folder.rglob("*")):
        if path.is_dir() or path.suffix.lower() not in AUDIO_SUFFIXES:
            continue
        meta = ingest.ClipMeta(
            captured_at=datetime.fromtimestamp(path.lstat().st_mtime, tz=UTC),
            locale=locale,
            device_type=device_type,
            account_id="",
        )
        yield Line(str(path.relative_to(folder)), ingest_file(path, root, meta))
