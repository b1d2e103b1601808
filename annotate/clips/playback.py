"""Handing a clip's audio to a listener: every play is audited, then the audio decrypted in memory.

The doors (the reviewer's held task, the lead's console) check who may listen;
the officer's case door plays through escalation's service (it may muffle).
"""

from __future__ import annotations

from typing import Any

from annotate.audit import services as audit
from annotate.clips import vault
from annotate.clips.models import Clip


def play(*, clip: Clip, listener, ip: str | None = None, details: dict[str, Any] | None = None) -> bytes:
    audit.record(action="audio.play", actor=listener, clip_public_id=clip.public_id, ip=ip, details=details)
    return vault.load_audio(clip)


def play_protected(
    *,
    clip: Clip,
    listener,
    disguise: bool,
    redact: bool,
    muffled: bool,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> bytes:
    """What a reviewer hears (annotate.clips.screening): the version their queue's protections ask
    for, audited with what was played. FileNotFoundError when that version is missing."""
    from annotate.clips import screening

    screened = screening.Screening.objects.filter(clip=clip).first()
    kind = screening.variant_for(screening=screened, disguise=disguise, redact=redact, muffled=muffled)
    wav = vault.load_audio(clip) if kind is None else screening.load_variant(clip, kind)
    if wav is None:
        raise FileNotFoundError(f"clip {clip.public_id} has no {kind} audio")
    audit.record(
        action="audio.play",
        actor=listener,
        clip_public_id=clip.public_id,
        ip=ip,
        details={**(details or {}), "version": kind or "original"},
    )
    return wav
