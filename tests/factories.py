"""Building review data quickly: transcribed clips and queues, as the services leave them.

Ingest and Whisper have their own tests; review tests start from clips in the
state those services produce (encrypted audio stored, a machine transcript, a
task per matching queue), without running Whisper for each.
"""

from __future__ import annotations

import hashlib
import io
import itertools

from pydub.generators import Sine

from annotate.clips import audio, vault
from annotate.clips.models import Clip, MachineTranscript, SealedIdentity
from annotate.queues.models import Queue
from annotate.queues.services import sample_clip

_counter = itertools.count(1)


def make_queue(*members, name: str | None = None, **fields) -> Queue:
    queue = Queue.objects.create(name=name or f"queue {next(_counter)}", **fields)
    queue.members.add(*members)
    return queue


def tone_wav(seconds: float = 1.0, freq: int = 440) -> bytes:
    segment = Sine(freq).to_audio_segment(duration=int(seconds * 1000)).set_frame_rate(16000).set_channels(1)
    buf = io.BytesIO()
    segment.set_sample_width(2).export(buf, format="wav")
    return buf.getvalue()


def make_clip(text: str = "set a timer for ten minutes", *, with_audio: bool = True, **fields) -> Clip:
    """A transcribed clip, sampled into the matching queues."""
    n = next(_counter)
    clip = Clip(
        content_sha256=hashlib.sha256(f"clip {n}".encode()).hexdigest(),
        duration_ms=1000,
        peaks=[0.5] * 50,
        locale=fields.pop("locale", "en-US"),
        device_type=fields.pop("device_type", "speaker"),
        heard=fields.pop("heard", text),
        response=fields.pop("response", "OK"),
        intent=fields.pop("intent", "SetTimer"),
        state=Clip.State.READY,
        **fields,
    )
    if with_audio:
        wav = audio.decode(tone_wav(1.0, 300 + n)).segment
        clip.audio_name, clip.audio_key_id = vault.store_audio(public_id=clip.public_id, wav=audio.to_wav_bytes(wav))
    clip.save()
    SealedIdentity.objects.create(clip=clip, account_hash="x" * 64, key_id="k", ciphertext=b"sealed")
    words = [
        {"word": w, "start": i * 0.2, "end": i * 0.2 + 0.18, "probability": 0.9} for i, w in enumerate(text.split())
    ]
    MachineTranscript.objects.create(clip=clip, model_name="tiny.en", language="en", text=text, words=words)
    sample_clip(clip=clip)
    return clip
