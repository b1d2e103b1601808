"""Training-data exports: an encrypted zip of audio and a manifest, in private storage,
that expires, and loses any clip that is erased or purged after it was built.

Formats (each zip holds the audio as 16 kHz mono WAV):

- ``jsonl``: ``transcripts.jsonl``, one object per clip, and ``audio/<id>.wav``
- ``csv``: ``transcripts.csv`` with the same columns, and ``audio/<id>.wav``
- ``nemo``: ``manifest.json`` (NeMo ASR: ``audio_filepath``, ``duration``, ``text``) and ``audio/<id>.wav``
- ``hf``: a Hugging Face ``audiofolder``: ``train/metadata.csv`` (``file_name``, ``transcription``, ...)
  next to ``train/<id>.wav``

Only what selectors.exportable_finals allows goes in, and never an identifier:
a clip is named by its random public id.

At rest: the zip is written straight through crypto.encrypt_stream (the data key
ring, context ``export:<pk>``; zipfile writes to a stream it cannot seek, with data
descriptors), so only ciphertext touches the disk: a temporary file, then private
storage. ``size_bytes`` is the plain zip's size, which a download streams decrypted.

Which clips: the build records an ExportItem per clip it put in the archive. When
clips are to be erased or purged, withdraw_clips (in that transaction) deletes
their items and the export's file, and schedules a rebuild from the items left
(never from new clips), or marks the export withdrawn when none is left.

Races with a withdrawal: the build writes its outcome under the locks of every
clip in its archive (in pk order, the first step of the lock order in
annotate.queues.claims) and of the export's row, and checks again, under them,
that each clip is still exportable (and, for a rebuild, still an item). A
withdrawal locks the same clips, then the exports. So either the build commits
first, and the withdrawal finds its items; or the withdrawal does, and the build
sees the clip gone and builds again without it.

Expiry: the first build sets ``expires_at`` (ANNOTATE_EXPORT_TTL_DAYS later; a
rebuild keeps it); delete_expired_exports, a sweeper hook (and the daily
retention), deletes the files of exports past it.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import secrets
import tempfile
import zipfile
from collections.abc import Collection, Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotate.audit import services as audit
from annotate.clips import crypto, screening, vault
from annotate.clips.models import AudioVariant, Clip
from annotate.jobs import services as jobs
from annotate.jobs.models import Job
from annotate.leads import entity_exports, labelstudio, selectors
from annotate.leads.models import Export, ExportItem
from annotate.quality.models import FinalTranscript

log = logging.getLogger(__name__)

BUILDING = (Export.State.QUEUED, Export.State.RUNNING, Export.State.FAILED)  # states a build may (re)start from
HOLDING = (Export.State.QUEUED, Export.State.RUNNING, Export.State.DONE)  # a file stored, or about to be
MAX_ROUNDS = 5  # builds in a row that a withdrawal may spoil before the job gives up (and retries)
BATCH = 500  # ids per IN (...) list
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


def _labelstudio(finals: list[FinalTranscript], records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Label Studio tasks of the archived clips, with their entity spans, and the label config."""
    archived = {r["id"]: r for r in records}
    kept = [f for f in finals if f.clip.public_id in archived]
    documents = list(entity_exports.documents_of(kept))
    tasks = [labelstudio.task_json(d, archived[d["id"]]["audio_filepath"]) for d in documents]
    kinds = [span["kind"] for d in documents for span in d.get("spans") or []]
    return [
        ("labelstudio.json", json.dumps(tasks, ensure_ascii=False, indent=1)),
        ("labelstudio.xml", labelstudio.label_config(kinds)),
    ]


def _batches(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), BATCH):
        yield ordered[start : start + BATCH]


def _context(export_id: int) -> str:
    return f"export:{export_id}"


def _lock_clips(clip_ids: Iterable[int]) -> None:
    """Lock order, step 1 (annotate.queues.claims), for many clips at once: their rows, in pk order."""
    for batch in _batches(clip_ids):
        list(Clip.objects.select_for_update(no_key=True).filter(pk__in=batch).order_by("pk").values_list("pk"))


def schedule_build(export: Export) -> None:
    """Record the build job (RQ queue "default"); it is handed to a worker once this transaction commits."""
    jobs.schedule(
        "default",
        "annotate.leads.jobs.build_export_job",
        export.pk,
        key=f"export:{export.pk}",
        retries=settings.ANNOTATE_EXPORT_RETRIES,
        retry_intervals=[30],
        timeout=settings.ANNOTATE_EXPORT_TIMEOUT,
    )


# --- building ---------------------------------------------------------------------------------------


def _exportable(export: Export):
    """What this export may hold now: the first build takes every exportable clip (of its queue);
    a rebuild only its remaining items that are still exportable."""
    finals = selectors.exportable_finals(queue=export.queue)
    if export.rebuilt_at is not None:
        finals = finals.filter(clip_id__in=ExportItem.objects.filter(export_id=export.pk).values("clip_id"))
    return finals


def _exported_audio(final: FinalTranscript) -> bytes:
    """The clip's audio as the dataset carries it: where the final text keeps a placeholder of
    bleeped personal data ("call [PHONE]"), the bleeped version, so that audio and text agree
    and the data spoken is not in the export (docs/protection.md); else the original."""
    if screening.PLACEHOLDER.search(final.text):
        wav = screening.load_variant(final.clip, AudioVariant.Kind.BLEEPED)
        if wav is not None:
            return wav
    return vault.load_audio(final.clip)


def _write_archive(export: Export, finals: list[FinalTranscript], path: Path) -> tuple[int, list[int]]:
    """Write the encrypted zip to `path`; return (the plain zip's size, the clips put in)."""
    total = len(finals)
    step = max(1, total // 100)
    records: list[dict[str, Any]] = []
    archived: list[int] = []
    ring = crypto.data_ring()
    with (
        path.open("wb") as raw,
        crypto.encrypt_stream(raw, ring=ring, context=_context(export.pk)) as sealed,
    ):
        with zipfile.ZipFile(sealed, "w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
            for done, final in enumerate(finals, start=1):
                try:
                    wav = _exported_audio(final)
                except FileNotFoundError:  # purged since the list was read
                    wav = None
                if wav is not None:
                    record = _record(final, export.format)
                    archive.writestr(record["audio_filepath"], wav, compress_type=zipfile.ZIP_STORED)
                    records.append(record)
                    archived.append(final.clip_id)
                if done % step == 0 or done == total:
                    Export.objects.filter(pk=export.pk).update(done=done)
            if export.format == Export.Format.LABELSTUDIO:
                for name, text in _labelstudio(finals, records):
                    archive.writestr(name, text)
            else:
                name, text = _manifest(export.format, records)
                archive.writestr(name, text)
        size = sealed.tell()
    return size, archived


def _finish(export_id: int, *, stored: str, size: int, archived: list[int], total: int) -> str:
    """Record the built archive, if it still may be: "done", "stale" (build again) or "gone"."""
    with transaction.atomic():
        _lock_clips(archived)
        export = Export.objects.select_for_update().get(pk=export_id)
        if export.state not in BUILDING or export.is_expired():  # expired or withdrawn meanwhile
            return "gone"
        if not set(archived) <= set(_exportable(export).values_list("clip_id", flat=True)):
            return "stale"  # a clip went (withdrawn, flagged, purged) while the archive was written
        held = set(ExportItem.objects.filter(export_id=export_id).values_list("clip_id", flat=True))
        for batch in _batches(held - set(archived)):
            ExportItem.objects.filter(export_id=export_id, clip_id__in=batch).delete()
        ExportItem.objects.bulk_create(
            [ExportItem(export_id=export_id, clip_id=clip_id) for clip_id in sorted(set(archived) - held)],
            batch_size=1000,
        )
        now = timezone.now()
        Export.objects.filter(pk=export_id).update(
            state=Export.State.DONE,
            done=total,
            clip_count=len(archived),
            file_name=stored,
            size_bytes=size,
            error="",
            finished_at=now,
            expires_at=export.expires_at or now + timedelta(days=settings.ANNOTATE_EXPORT_TTL_DAYS),
        )
        audit.record(
            action="export.build",
            target=f"export:{export_id}",
            details={"format": export.format, "clips": len(archived), "rebuilt": export.rebuilt_at is not None},
        )
    return "done"


def build_export(*, export_id: int) -> Export:
    """Write the export's encrypted zip into private storage, updating its progress as it goes.

    A first build takes every exportable clip (of its queue); a rebuild (after a
    withdrawal) only its remaining items that are still exportable. When a clip
    goes while the archive is written, it is built again without it.
    """
    only: set[int] | None = None
    for _ in range(MAX_ROUNDS):
        export = Export.objects.select_related("queue").get(pk=export_id)
        if export.state not in BUILDING:
            return export
        if export.is_expired():
            expire_export(export_id=export_id)
            return Export.objects.get(pk=export_id)
        started = Export.objects.filter(pk=export_id, state__in=BUILDING).update(
            state=Export.State.RUNNING, started_at=timezone.now(), done=0, total=0, error=""
        )
        if not started:
            continue
        finals = list(_exportable(export))
        if only is not None:  # built again after a withdrawal: never a clip the last round did not take
            finals = [final for final in finals if final.clip_id in only]
        total = len(finals)
        Export.objects.filter(pk=export_id).update(total=total)
        with tempfile.TemporaryDirectory(prefix="annotate-export-") as folder:
            path = Path(folder) / "export.zip.sealed"
            size, archived = _write_archive(export, finals, path)
            with path.open("rb") as fh:
                stored = default_storage.save(f"exports/export-{export_id}-{secrets.token_hex(8)}.zip.sealed", File(fh))
        try:
            outcome = _finish(export_id, stored=stored, size=size, archived=archived, total=total)
        except BaseException:
            vault.delete_stored([stored])
            raise
        if outcome == "done":
            return Export.objects.get(pk=export_id)
        vault.delete_stored([stored])
        if outcome == "gone":
            expire_export(export_id=export_id)  # if that is why (a withdrawn export stays withdrawn)
            return Export.objects.get(pk=export_id)
        only = set(archived)
    raise RuntimeError(f"export {export_id}: its clips kept being withdrawn while it was built ({MAX_ROUNDS} rounds)")


def record_failure(*, export_id: int, error: str, final: bool) -> None:
    Export.objects.filter(pk=export_id, state__in=BUILDING).update(
        state=Export.State.FAILED if final else Export.State.QUEUED,
        error=error[:2000],
        finished_at=timezone.now() if final else None,
    )


def read_archive(export: Export) -> Iterator[bytes]:
    """The export's zip, decrypted chunk by chunk (its first chunk checked before this returns).

    Raises DecryptionError (its key retired, the file changed) before a byte is given;
    the file is closed when the iterator is exhausted or closed.
    """
    fh = vault.open_stored(export.file_name)
    try:
        chunks = crypto.decrypt_stream(fh, ring=crypto.data_ring(), context=_context(export.pk))
        first = next(chunks)
    except BaseException:
        fh.close()
        raise
    return _chunks(fh, first, chunks)


def _chunks(fh, first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    with fh:
        yield first
        yield from rest


# --- withdrawing clips ---------------------------------------------------------------------------


@transaction.atomic
def withdraw_clips(clip_ids: Collection[int], *, reason: str) -> dict[str, int]:
    """Take these clips out of every export that holds them; call it in the transaction that
    erases or purges them, before they go.

    Each stored, queued or running export holding any of them loses their items; its
    file is deleted once the transaction commits; it is built again from the clips
    left (state queued, `rebuilt_at`, `withdrawn_count`), or, with none left, marked
    withdrawn. Returns {"exports": exports touched, "export_rows": items removed}.
    """
    counts = {"exports": 0, "export_rows": 0}
    ids = sorted(set(clip_ids))
    if not ids:
        return counts
    _lock_clips(ids)
    holding: set[int] = set()
    for batch in _batches(ids):
        holding |= set(ExportItem.objects.filter(clip_id__in=batch).values_list("export_id", flat=True))
    if not holding:
        return counts
    now = timezone.now()
    for export in Export.objects.select_for_update().filter(pk__in=sorted(holding)).order_by("pk"):
        removed = sum(
            ExportItem.objects.filter(export_id=export.pk, clip_id__in=batch).delete()[0] for batch in _batches(ids)
        )
        if not removed:
            continue
        counts["exports"] += 1
        counts["export_rows"] += removed
        left = ExportItem.objects.filter(export_id=export.pk).count()
        if export.file_name:
            vault.delete_after_commit(export.file_name)
        changes: dict[str, Any] = {
            "file_name": "",
            "rebuilt_at": now,
            "withdrawn_count": F("withdrawn_count") + removed,
        }
        if export.state in HOLDING and left:
            changes.update(state=Export.State.QUEUED, done=0, total=0, error="")
            outcome = "rebuild"
        elif export.state in HOLDING or not left:
            changes.update(state=Export.State.WITHDRAWN, clip_count=0, done=0, total=0)
            outcome = "withdrawn"
        else:  # failed (a rebuild that gave up): no file, nothing to build
            outcome = "failed"
        Export.objects.filter(pk=export.pk).update(**changes)
        if outcome == "rebuild":
            schedule_build(export)
        audit.record(
            action="export.withdraw",
            target=f"export:{export.pk}",
            details={"reason": reason, "clips": removed, "left": left, "outcome": outcome},
        )
    return counts


# --- expiry and the sweeper ---------------------------------------------------------------------


@transaction.atomic
def expire_export(*, export_id: int, now: datetime | None = None) -> bool:
    """Delete an export's file (once this commits) and mark it expired, if it is past its expiry."""
    now = now or timezone.now()
    export = Export.objects.select_for_update().filter(pk=export_id).first()
    if export is None or export.state in (Export.State.EXPIRED, Export.State.WITHDRAWN):
        return False
    if not export.is_expired(now):
        return False
    if export.file_name:
        vault.delete_after_commit(export.file_name)
    ExportItem.objects.filter(export_id=export_id).delete()
    Export.objects.filter(pk=export_id).update(state=Export.State.EXPIRED, file_name="")
    audit.record(
        action="export.expire",
        target=f"export:{export_id}",
        details={"format": export.format, "clips": export.clip_count, "expired_at": export.expires_at.isoformat()},
    )
    return True


def delete_expired_exports(*, now: datetime | None = None) -> int:
    """Delete the files of exports past their expiry and mark them expired; returns how many.

    A sweeper hook (every ANNOTATE_SWEEP_SECONDS) and a step of the daily retention.
    """
    now = now or timezone.now()
    due = (
        Export.objects.filter(expires_at__lte=now)
        .exclude(state__in=[Export.State.EXPIRED, Export.State.WITHDRAWN])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return sum(expire_export(export_id=pk, now=now) for pk in list(due[:BATCH]))


def schedule_lost_exports(*, limit: int = 100) -> int:
    """A sweeper hook: queued exports without a pending or running job get one again; returns how many.

    (A withdrawal that lands just after a build finished, before its job row is closed, finds
    that job still open and schedules nothing.)
    """
    queued = list(Export.objects.filter(state=Export.State.QUEUED).order_by("pk").values_list("pk", flat=True)[:limit])
    if not queued:
        return 0
    open_keys = set(
        Job.objects.filter(key__in=[f"export:{pk}" for pk in queued], state__in=Job.OPEN_STATES).values_list(
            "key", flat=True
        )
    )
    scheduled = 0
    for pk in queued:
        if f"export:{pk}" in open_keys:
            continue
        with transaction.atomic():
            export = Export.objects.select_for_update().filter(pk=pk, state=Export.State.QUEUED).first()
            if export is None:
                continue
            log.warning("export %s was queued without a job; scheduling it again", pk)
            schedule_build(export)
            scheduled += 1
    return scheduled


def withdraw_flagged_clip(*, clip) -> None:
    """Wired to escalation.services.flag_clip (its transaction, the clip locked): a flagged clip
    leaves every stored export at once, not only the ones built later."""
    withdraw_clips([clip.pk], reason="flagged")
