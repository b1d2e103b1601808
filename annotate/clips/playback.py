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
