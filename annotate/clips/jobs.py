"""RQ jobs of the clips app: thin callers of the services."""

from __future__ import annotations

from annotate.clips import asr


def transcribe_clip_job(clip_id: int, final_attempt: bool | None = None) -> None:
    try:
        asr.transcribe_clip(clip_id=clip_id)
    except Exception as exc:
        if final_attempt is None:  # under RQ: the last try is the one with no retries left
            from rq import get_current_job

            job = get_current_job()
            final_attempt = job is None or not job.retries_left
        asr.record_failure(clip_id=clip_id, error=f"{type(exc).__name__}: {exc}", final=final_attempt)
        raise
