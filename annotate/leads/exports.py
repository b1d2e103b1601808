"""Building a training-data export: a zip of audio and a manifest, in private storage.

Formats (each zip holds the audio as 16 kHz mono WAV):

- ``jsonl``: ``transcripts.jsonl``, one object per clip, and ``audio/<id>.wav``
- ``csv``: ``transcripts.csv`` with the same columns, and ``audio/<id>.wav``
- ``nemo``: ``manifest.json`` (NeMo ASR: ``audio_filepath``, ``duration``, ``text``) and ``audio/<id>.wav``
- ``hf``: a Hugging Face ``audiofolder``: ``train/metadata.csv`` (``file_name``, ``transcription``, ...)
  next to ``train/<id>.wav``

Only what selectors.exportable_finals allows goes in, and never an identifier:
a clip is named by its random public id. Decrypted audio is written only into
the archive, built in a temporary folder that is removed whatever happens.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from annotate.audit import services as audit
from annotate.clips import vault
from annotate.leads import selectors
from annotate.leads.models import Export

COLUMNS = ("id", "audio_filepath", "duration", "text", "locale", "device_type", "source")


def _audio_path(fmt: str, public_id: str) -> str:
    return f"train/{public_id}.wav" if fmt == Export.Format.HF else f"audio/{public_id}.wav"


def _record(final, fmt: str) -> dict[str, Any]:
    clip = final.clip
    return {
        "id": clip.public_id,
        "audio_filepath": _audio_path(fmt, clip.public_id),
        "duration": round(clip.duration_seconds, 3),
        "text": final.text,
        "locale": clip.locale,
        "device_type": clip.device_type,
        "source": final.source,
    }


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _manifest(fmt: str, records: list[dict[str, Any]]) -> tuple[str, str]:
    if fmt == Export.Format.JSONL:
        return "transcripts.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if fmt == Export.Format.CSV:
        return "transcripts.csv", _csv(records, COLUMNS)
    if fmt == Export.Format.NEMO:
        lines = [
            json.dumps({"audio_filepath": r["audio_filepath"], "duration": r["duration"], "text": r["text"]})
            for r in records
        ]
        return "manifest.json", "".join(line + "\n" for line in lines)
    rows = [
        {
            "file_name": Path(r["audio_filepath"]).name,
            "transcription": r["text"],
            "duration": r["duration"],
            "locale": r["locale"],
            "id": r["id"],
        }
        for r in records
    ]
    return "train/metadata.csv", _csv(rows, ("file_name", "transcription", "duration", "locale", "id"))


def build_export(*, export_id: int) -> Export:
    """Write the export's zip into private storage, updating its progress as it goes."""
    export = Export.objects.select_related("queue").get(pk=export_id)
    if export.state == Export.State.DONE:
        return export
    Export.objects.filter(pk=export.pk).update(
        state=Export.State.RUNNING, started_at=timezone.now(), done=0, total=0, error=""
    )
    finals = list(selectors.exportable_finals(queue=export.queue))
    total = len(finals)
    Export.objects.filter(pk=export.pk).update(total=total)
    step = max(1, total // 100)
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="annotate-export-") as folder:
        path = Path(folder) / "export.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for done, final in enumerate(finals, start=1):
                try:
                    wav = vault.load_audio(final.clip)
                except FileNotFoundError:  # purged since the list was read
                    wav = None
                if wav is not None:
                    record = _record(final, export.format)
                    archive.writestr(record["audio_filepath"], wav, compress_type=zipfile.ZIP_STORED)
                    records.append(record)
                if done % step == 0 or done == total:
                    Export.objects.filter(pk=export.pk).update(done=done)
            name, text = _manifest(export.format, records)
            archive.writestr(name, text)
        with path.open("rb") as fh:
            stored = default_storage.save(f"exports/export-{export.pk}-{secrets.token_hex(8)}.zip", File(fh))
        size = path.stat().st_size
    Export.objects.filter(pk=export.pk).update(
        state=Export.State.DONE,
        done=total,
        clip_count=len(records),
        file_name=stored,
        size_bytes=size,
        finished_at=timezone.now(),
    )
    audit.record(
        action="export.build",
        target=f"export:{export.pk}",
        details={"format": export.format, "clips": len(records)},
    )
    export.refresh_from_db()
    return export


def record_failure(*, export_id: int, error: str, final: bool) -> None:
    Export.objects.filter(pk=export_id).update(
        state=Export.State.FAILED if final else Export.State.QUEUED,
        error=error[:2000],
        finished_at=timezone.now() if final else None,
    )
