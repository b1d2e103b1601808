"""Jobs of the clips app: thin callers of the services (scheduled through annotate.jobs)."""

from __future__ import annotations

from annotate.clips import asr


def transcribe_clip_job(clip_id: int, *, final_attempt: bool = True) -> None:
    try:
        asr.transcribe_clip(clip_id=clip_id)
    except Exception as exc:
        asr.record_failure(clip_id=clip_id, error=f"{type(exc).__name__}: {exc}", final=final_attempt)
        raise


def _transcription_given_up(clip_id: int, *, error: str) -> None:
    asr.record_failure(clip_id=clip_id, error=error, final=True)


transcribe_clip_job.on_give_up = _transcription_given_up  # type: ignore[attr-defined]
