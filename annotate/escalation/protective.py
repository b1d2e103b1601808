"""Protective listening for officers: a muffled version of a clip, made with pydub."""

from __future__ import annotations

import io


def muffle(wav: bytes) -> bytes:
    """A muffled version for protective listening: low-passed with pydub, a little quieter.

    pydub's filter runs in Python, so the clip is taken to 8 kHz first (voices
    stay, the work halves) and filtered twice (a first-order filter rolls off gently).
    """
    from pydub import AudioSegment
    from pydub.effects import low_pass_filter

    segment = AudioSegment.from_wav(io.BytesIO(wav))
    rate = segment.frame_rate
    segment = segment.set_frame_rate(min(rate, 8000))
    for _ in range(2):
        segment = low_pass_filter(segment, 450)
    buf = io.BytesIO()
    (segment.set_frame_rate(rate) - 6).export(buf, format="wav")
    return buf.getvalue()
