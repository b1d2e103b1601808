"""Label Studio, both ways (issue 18; docs/leads.md, Label Studio).

**Import** (`manage.py import_labelstudio EXPORT --audio-dir DIR`): a Label Studio JSON export of an
audio transcription project (its `<Audio>` + `<TextArea>` template) — the plain export (`JSON`),
the snapshot export with predictions (`asr_full.json`) or `JSON_MIN` — with the audio files in a
folder. Each task's audio (`data.audio`: `/data/upload/1/<name>`, `/data/local-files/?d=<path>`, a
URL) is found in the folder by its file name and ingested as any clip (no identity: Label Studio has
none). Its predictions become machine transcripts (one per `model_version`); its annotations, the
reviewed transcript: the ground-truth one, else the latest not cancelled. A task without audio, an
audio file that is missing or not audio, is reported and skipped; an audio file imported before is
reported as a duplicate and left as it is. Label Studio's users are never imported.

**Export** (format `labelstudio`, with the other exports): the final transcripts as Label Studio
tasks (`labelstudio.json`) that Label Studio 1.23 imports, with the audio in `audio/` and the label
config they fit (`labelstudio.xml`: the audio, its transcription, and the entity spans on the text).
Each task's `data.audio` is `/data/local-files/?d=audio/<id>.wav` (Label Studio's local files
serving, the archive unpacked under its document root); its one annotation holds the transcript and
the spans with their catalog kind as label.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.db import transaction
from django.utils.dateparse import parse_datetime

from annotate.clips import batch, ingest
from annotate.clips.models import MachineTranscript
from annotate.quality.models import FinalTranscript

AUDIO_KEY = "audio"
TRANSCRIPTION = "transcription"
TEXT = "transcript"
LABELS = "label"


class LabelStudioError(ValueError):
    """The file is not a Label Studio export this importer reads (a message for the operator)."""


@dataclass
class TaskOutcome:
    task: Any
    outcome: str  # imported, duplicate, skipped
    message: str
    clip: str = ""
    predictions: int = 0
    reviewed: bool = False


@dataclass
class ImportReport:
    rows: list[TaskOutcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    def text(self) -> str:
        reviewed = sum(1 for row in self.rows if row.reviewed)
        predictions = sum(row.predictions for row in self.rows)
        return (
            f"{len(self.rows)} task(s): {self.count('imported')} imported ({reviewed} with a reviewed transcript, "
            f"{predictions} machine transcript(s)), {self.count('duplicate')} already imported, "
            f"{self.count('skipped')} skipped"
        )


# --- reading an export -------------------------------------------------------------------------


def read_tasks(path: Path) -> list[dict[str, Any]]:
    """The tasks of a JSON or JSON_MIN export, as JSON-export tasks (`data`, `annotations`, `predictions`)."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabelStudioError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(loaded, list) or not all(isinstance(t, dict) for t in loaded):
        raise LabelStudioError(f"{path}: not a Label Studio JSON export (expected a list of tasks)")
    if loaded and all("data" not in t for t in loaded):
        return _from_min(loaded)
    return loaded


def _from_min(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """JSON_MIN: one flattened row per annotation (`transcription` a string), grouped back into tasks."""
    tasks: dict[Any, dict[str, Any]] = {}
    for row in rows:
        task = tasks.setdefault(row.get("id"), {"id": row.get("id"), "data": {}, "annotations": [], "predictions": []})
        for key, value in row.items():
            if isinstance(value, str) and _audio_name(value):
                task["data"][key] = value
        text = row.get(TRANSCRIPTION)
        if isinstance(text, str):
            task["annotations"].append(
                {
                    "id": row.get("annotation_id"),
                    "result": [{"type": "textarea", "from_name": TRANSCRIPTION, "value": {"text": [text]}}],
                    "created_at": row.get("created_at"),
                    "updated_at": row.get("updated_at"),
                }
            )
    return list(tasks.values())


def _audio_name(reference: str) -> str | None:
    """The file name an audio reference of a task points at, or None if it points at no audio."""
    parts = urlsplit(reference)
    path = parse_qs(parts.query).get("d", [parts.path])[0]  # /data/local-files/?d=audio/x.wav
    name = PurePosixPath(unquote(path)).name
    return name if PurePosixPath(name).suffix.lower() in batch.AUDIO_SUFFIXES else None


def audio_name(task: dict[str, Any]) -> str | None:
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    preferred = data.get(AUDIO_KEY)
    candidates = [preferred] if isinstance(preferred, str) else []
    candidates += [v for k, v in data.items() if k != AUDIO_KEY and isinstance(v, str)]
    return next((name for ref in candidates if (name := _audio_name(ref))), None)


def _textarea(result: Any) -> str | None:
    for item in result if isinstance(result, list) else []:
        if isinstance(item, dict) and item.get("type") == "textarea":
            text = (item.get("value") or {}).get("text")
            if isinstance(text, list):
                return " ".join(str(t) for t in text).strip()
            if isinstance(text, str):
                return text.strip()
    return None


def predictions(task: dict[str, Any]) -> dict[str, str]:
    """model_version -> transcript, from the task's predictions (full objects) and the prediction
    snapshot each annotation carries (the plain export lists predictions by id only)."""
    found: dict[str, str] = {}
    snapshots = [a.get("prediction") for a in task.get("annotations") or [] if isinstance(a, dict)]
    for prediction in [*(task.get("predictions") or []), *snapshots]:
        if not isinstance(prediction, dict) or not prediction:
            continue
        text = _textarea(prediction.get("result"))
        if text:
            found.setdefault(str(prediction.get("model_version") or "labelstudio-prediction")[:200], text)
    return found


def reviewed(task: dict[str, Any]) -> str | None:
    """The reviewed transcript: the ground-truth annotation's, else the latest one not cancelled."""
    usable = [
        a
        for a in task.get("annotations") or []
        if isinstance(a, dict) and not a.get("was_cancelled") and _textarea(a.get("result"))
    ]
    if not usable:
        return None
    usable.sort(key=lambda a: (bool(a.get("ground_truth")), str(a.get("updated_at") or a.get("created_at") or "")))
    return _textarea(usable[-1].get("result"))


def _captured_at(task: dict[str, Any]) -> datetime:
    for key in ("created_at", "updated_at"):
        when = parse_datetime(str(task.get(key) or ""))
        if when is not None:
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    return datetime.now(UTC)


# --- import ------------------------------------------------------------------------------------


def import_tasks(
    tasks: Iterable[dict[str, Any]], *, audio_dir: Path, locale: str = "en-US", device_type: str = "labelstudio"
) -> ImportReport:
    """Ingest each task's audio as a clip, with its machine and reviewed transcripts (module docstring)."""
    report = ImportReport()
    root = batch.import_root_for(audio_dir)
    for task in tasks:
        number = task.get("id", "?")
        name = audio_name(task)
        if name is None:
            report.rows.append(TaskOutcome(number, "skipped", "no audio in its data (an audio transcription project?)"))
            continue
        path = audio_dir / name
        if not path.is_file():
            report.rows.append(TaskOutcome(number, "skipped", f"audio {name} not found in {audio_dir}"))
            continue
        meta = ingest.ClipMeta(captured_at=_captured_at(task), locale=locale, device_type=device_type, account_id="")
        result = batch.ingest_file(path, root, meta)
        if result.outcome == ingest.DUPLICATE:
            report.rows.append(TaskOutcome(number, "duplicate", result.message))
            continue
        if result.clip is None:
            report.rows.append(TaskOutcome(number, "skipped", f"{name}: {result.message}"))
            continue
        machine, final = predictions(task), reviewed(task)
        with transaction.atomic():
            for model, text in machine.items():
                MachineTranscript.objects.update_or_create(
                    clip=result.clip, model_name=model, defaults={"text": text, "language": ""}
                )
            if final:
                FinalTranscript.objects.update_or_create(
                    clip=result.clip, defaults={"text": final, "source": FinalTranscript.Source.IMPORTED}
                )
        report.rows.append(
            TaskOutcome(number, "imported", result.message, result.clip.public_id, len(machine), bool(final))
        )
    return report


# --- export ------------------------------------------------------------------------------------

LABEL_CONFIG = """<View>
  <Audio name="audio" value="$audio"/>
  <TextArea name="transcription" toName="audio" rows="4" editable="true" maxSubmissions="1"/>
  <Labels name="label" toName="transcript">
{labels}
  </Labels>
  <Text name="transcript" value="$transcript"/>
</View>
"""


def label_config(kinds: Iterable[str]) -> str:
    labels = "\n".join(f'    <Label value="{kind.upper()}"/>' for kind in sorted(set(kinds)))
    return LABEL_CONFIG.format(labels=labels)


def task_json(document: dict[str, Any], audio_path: str) -> dict[str, Any]:
    """One Label Studio task of a final transcript and its spans (entity_exports' document)."""
    result: list[dict[str, Any]] = [
        {"from_name": TRANSCRIPTION, "to_name": AUDIO_KEY, "type": "textarea", "value": {"text": [document["text"]]}}
    ]
    for span in document.get("spans") or []:
        result.append(
            {
                "from_name": LABELS,
                "to_name": TEXT,
                "type": "labels",
                "value": {
                    "start": span["start"],
                    "end": span["end"],
                    "text": span["text"],
                    "labels": [span["kind"].upper()],
                },
            }
        )
    return {
        "data": {AUDIO_KEY: f"/data/local-files/?d={audio_path}", TEXT: document["text"], "clip": document["id"]},
        "annotations": [{"result": result, "ground_truth": True}],
    }
