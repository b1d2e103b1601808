"""RQ jobs of the lead console: thin callers of the services."""

from __future__ import annotations

from annotate.leads import exports


def build_export_job(export_id: int, final_attempt: bool | None = None) -> None:
    try:
        exports.build_export(export_id=export_id)
    except Exception as exc:
        if final_attempt is None:  # under RQ: the last try is the one with no retries left
            from rq import get_current_job

            job = get_current_job()
            final_attempt = job is None or not job.retries_left
        exports.record_failure(export_id=export_id, error=f"{type(exc).__name__}: {exc}", final=final_attempt)
        raise
