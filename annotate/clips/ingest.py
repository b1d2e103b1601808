"""Ingest: one service behind both doors (the import command and the HTTP API).

validate → drop opted-out subjects (counted, never stored) → decode and
normalise → waveform peaks → encrypt the audio → seal the identity → sample into
queues → enqueue Whisper after commit. Bad input raises nothing: it returns a
rejected outcome with a message for whoever sent it, and leaves no row and no
file behind.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from annotate import wiring
from annotate.audit import services as audit
from annotate.clips import asr, audio, crypto, vault
from annotate.clips.models import Clip, IngestCount, OptOut
from annotate.clips.services import lock_account

log = logging.getLogger(__name__)

IMPORTED = "imported"
DUPLICATE = "duplicate"
OPTED_OUT = "opted_out"
REJECTED = "rejected"
OUTCOMES = (IMPORTED, DUPLICATE, OPTED_OUT, REJECTED)

# name -> (type, required)
FIELDS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "captured_at": (str, True),
    "locale": (str, True),
    "device_type": (str, True),
    "heard": (str, False),
    "response": (str, False),
    "intent": (str, False),
    "wake_word_score": ((int, float), False),
    "account_id": (str, True),
    "first_name": (str, False),
    "device_serial": (str, False),
    "opted_out": (bool, False),
}
TYPE_NAMES = {str: "a string", bool: "true or false", (int, float): "a number"}


class MetadataError(ValueError):
    """A manifest line or form is missing a field or has one of the wrong type."""


@dataclass(frozen=True)
class ClipMeta:
    captured_at: datetime
    locale: str
    device_type: str
    account_id: str
    heard: str = ""
    response: str = ""
    intent: str = ""
    wake_word_score: float | None = None
    first_name: str = ""
    device_serial: str = ""
    opted_out: bool = False

    def __repr__(self) -> str:  # never print identifiers, even by accident
        return f"ClipMeta(locale={self.locale!r}, device_type={self.device_type!r})"

    __str__ = __repr__


@dataclass
class Outcome:
    outcome: str
    message: str
    clip: Clip | None = None
    status: int = 200
    reason: str = ""  # why a clip was rejected: too_large, undecodable, too_short, too_long, silent

    @property
    def ok(self) -> bool:
        return self.outcome in (IMPORTED, OPTED_OUT, DUPLICATE)


def parse_meta(raw: dict[str, Any], *, ignore: tuple[str, ...] = ()) -> ClipMeta:
    """Check a manifest object (or form fields) and build ClipMeta. Raises MetadataError."""
    if not isinstance(raw, dict):
        raise MetadataError("expected a JSON object")
    unknown = sorted(set(raw) - set(FIELDS) - set(ignore))
    if unknown:
        raise MetadataError(f"unknown field(s): {', '.join(unknown)}")
    missing = [name for name, (_, required) in FIELDS.items() if required and raw.get(name) in (None, "")]
    if missing:
        raise MetadataError(f"missing field(s): {', '.join(missing)}")
    values: dict[str, Any] = {}
    for name, (kind, _) in FIELDS.items():
        if name not in raw or raw[name] is None:
            continue
        value = raw[name]
        if kind == (int, float) and isinstance(value, bool) or not isinstance(value, kind):
            raise MetadataError(f"field {name} must be {TYPE_NAMES[kind]}, not {type(value).__name__}")
        values[name] = value.strip() if isinstance(value, str) else value
    try:  # parse_datetime raises ValueError for well-formed but impossible values (Feb 30, 25:00)
        captured = parse_datetime(values["captured_at"])
    except ValueError:
        captured = None
    if captured is None:
        raise MetadataError("field captured_at must be an ISO 8601 date and time, e.g. 2026-11-20T14:03:11+00:00")
    if timezone.is_naive(captured):
        raise MetadataError("field captured_at needs a time zone, e.g. +00:00")
    values["captured_at"] = captured
    score = values.get("wake_word_score")
    if score is not None and (not math.isfinite(score) or not 0 <= score <= 1):
        raise MetadataError("field wake_word_score must be between 0 and 1")
    for name, limit in (("locale", 16), ("device_type", 32), ("intent", 100)):
        if len(values.get(name, "")) > limit:
            raise MetadataError(f"field {name} is longer than {limit} characters")
    return ClipMeta(**values)


def _count(outcome: str) -> None:
    today = timezone.localdate()
    counter, _ = IngestCount.objects.get_or_create(day=today, outcome=outcome)
    IngestCount.objects.filter(pk=counter.pk).update(count=F("count") + 1)


class _OptedOutMeanwhile(Exception):
    """The account opted out (or was erased) while its clip was being decoded: roll back."""


def _drop_opted_out(meta: ClipMeta, account_hash: str) -> Outcome:
    """Count the clip and store nothing. An upload marked opted out is the subject's opt-out:
    recorded like one sent to the opt-out API, so their earlier clips are erased too."""
    if meta.opted_out and account_hash:
        wiring.call("subject_opted_out", account_hash=account_hash)
    with transaction.atomic():
        _count(OPTED_OUT)
    return Outcome(OPTED_OUT, "the subject opted out: not stored (counted only)")


def ingest_clip(*, data: bytes, meta: ClipMeta) -> Outcome:
    """Ingest one clip's bytes with its metadata. Never raises for bad input.

    Every outcome is counted by day (IngestCount: "imported", "duplicate", "opted_out",
    "rejected:<reason>"), what the operator's metrics read (annotate/metrics.py).
    """
    result = _ingest(data=data, meta=meta)
    if result.outcome != OPTED_OUT:  # counted where it was dropped, in its own transaction
        _count(f"{result.outcome}:{result.reason}" if result.reason else result.outcome)
    return result


def _ingest(*, data: bytes, meta: ClipMeta) -> Outcome:
    limit = settings.ANNOTATE_MAX_UPLOAD_BYTES
    if len(data) > limit:
        return Outcome(
            REJECTED,
            f"the file is {len(data) / 1e6:.1f} MB, over the {limit / 1e6:.1f} MB limit",
            status=413,
            reason="too_large",
        )

    account_hash = crypto.lookup_hash(meta.account_id) if meta.account_id else ""
    if meta.opted_out or (account_hash and OptOut.objects.filter(account_hash=account_hash).exists()):
        return _drop_opted_out(meta, account_hash)

    digest = hashlib.sha256(data).hexdigest()
    existing = Clip.objects.filter(content_sha256=digest).values_list("public_id", flat=True).first()
    if existing:
        return Outcome(DUPLICATE, f"already imported as clip {existing}", status=409)

    try:
        decoded = audio.decode(data)
    except audio.AudioError as exc:
        return Outcome(REJECTED, str(exc), status=422, reason="undecodable")
    segment = decoded.segment
    seconds = segment.duration_seconds
    if seconds < settings.ANNOTATE_MIN_CLIP_SECONDS:
        return Outcome(
            REJECTED,
            f"the clip is {seconds:.2f} s, shorter than {settings.ANNOTATE_MIN_CLIP_SECONDS:g} s",
            status=422,
            reason="too_short",
        )
    if seconds > settings.ANNOTATE_MAX_CLIP_SECONDS:
        return Outcome(
            REJECTED,
            f"the clip is {seconds:.1f} s, longer than the {settings.ANNOTATE_MAX_CLIP_SECONDS:g} s limit",
            status=422,
            reason="too_long",
        )
    if segment.max == 0 or segment.dBFS < settings.ANNOTATE_SILENCE_DBFS:
        return Outcome(REJECTED, "the clip is silent", status=422, reason="silent")

    clip = Clip(
        content_sha256=digest,
        duration_ms=len(segment),
        sample_rate=segment.frame_rate,
        peaks=audio.peaks(segment, per_second=settings.ANNOTATE_PEAKS_PER_SECOND),
        captured_at=meta.captured_at,
        locale=meta.locale,
        device_type=meta.device_type,
        heard=meta.heard,
        response=meta.response,
        intent=meta.intent,
        wake_word_score=meta.wake_word_score,
        source_format=decoded.source_format,
    )
    name, key_id = vault.store_audio(public_id=clip.public_id, wav=audio.to_wav_bytes(segment))
    committed: list[bool] = []  # set by the first after-commit callback: from then on the audio is the clip's
    try:
        with transaction.atomic():
            transaction.on_commit(lambda: committed.append(True))
            lock_account(account_hash)  # an erasure of the account in flight commits first, or waits for us
            if OptOut.objects.filter(account_hash=account_hash).exists():
                raise _OptedOutMeanwhile
            clip.audio_name, clip.audio_key_id = name, key_id
            clip.save()
            vault.seal_identity(
                clip=clip,
                identity=vault.Identity(meta.account_id, meta.first_name, meta.device_serial),
                account_hash=account_hash,
            )
            wiring.call("sample_new_clip", clip=clip)
            asr.enqueue_transcription(clip)
    except _OptedOutMeanwhile:
        vault.delete_audio(name)
        return _drop_opted_out(meta, account_hash)
    except IntegrityError:
        vault.delete_audio(name)
        existing = Clip.objects.filter(content_sha256=digest).values_list("public_id", flat=True).first()
        return Outcome(DUPLICATE, f"already imported as clip {existing}", status=409)
    except BaseException:
        if not committed:  # rolled back: the stored file belongs to no clip
            vault.delete_audio(name)
        raise
    log.info("imported clip %s (%.1f s, %s)", clip.public_id, seconds, decoded.source_format)
    return Outcome(IMPORTED, f"imported as clip {clip.public_id} ({seconds:.1f} s)", clip=clip, status=201)


def upload_clip(*, data: bytes, meta: ClipMeta, uploader, ip: str | None = None) -> Outcome:
    """One clip sent to the ingest API by a pipeline account: ingested as any other, and audited."""
    result = ingest_clip(data=data, meta=meta)
    audit.record(
        action=f"ingest.{result.outcome}",
        actor=uploader,
        clip_public_id=result.clip.public_id if result.clip else "",
        ip=ip,
    )
    return result
