"""Jobs of the lead console: thin callers of the services (scheduled through annotate.jobs)."""

from __future__ import annotations

from annotate.leads import exports


def build_export_job(export_id: int, *, final_attempt: bool = True) -> None:
    try:
        exports.build_export(export_id=export_id)
    except Exception as exc:
        exports.record_failure(export_id=export_id, error=f"{type(exc).__name__}: {exc}", final=final_attempt)
        raise


def _export_given_up(export_id: int, *, error: str) -> None:
    exports.record_failure(export_id=export_id, error=error, final=True)


build_export_job.on_give_up = _export_given_up  # type: ignore[attr-defined]
