"""Label Studio import and export (issue 18), on real Label Studio 1.23.2 exports
(tests/fixtures/labelstudio/, copied from ../shared/fixtures/labelstudio/: its README says how
Label Studio made each file)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotate.catalog.models import Entity
from annotate.catalog.spans import SpanInput
from annotate.clips.models import Clip, MachineTranscript
from annotate.leads import exports, labelstudio
from annotate.leads.models import Export
from annotate.quality.models import FinalTranscript
from tests.factories import import_entities, make_clip, make_queue, reviewed
from tests.support import FIXTURES

pytestmark = pytest.mark.django_db
LS = FIXTURES / "labelstudio"
AUDIO = LS / "audio"


def imported(name: str) -> labelstudio.ImportReport:
    return labelstudio.import_tasks(labelstudio.read_tasks(LS / name), audio_dir=AUDIO)


def finals() -> dict[str, str]:
    """audio file name (as Label Studio stored it) -> final text, by the clips' content."""
    import hashlib

    by_sha = {hashlib.sha256(p.read_bytes()).hexdigest(): p.name for p in AUDIO.iterdir()}
    return {by_sha[f.clip.content_sha256]: f.text for f in FinalTranscript.objects.select_related("clip")}


def test_the_plain_json_export_imports_clips_with_reviewed_and_machine_transcripts():
    report = imported("asr.json")
    assert [(r.task, r.outcome) for r in report.rows] == [(i, "imported") for i in range(1, 6)]
    assert Clip.objects.count() == 5
    assert finals() == {
        # task 1 has two annotations, none ground truth: the latest (annotator 2's, typed from scratch)
        "d0fb8e8b-play_shake_it_off.wav": 'Play "Shake It Off" by Taylor Swift.',
        "cf4eb969-play_bohemian_rhapsody.wav": "play bohemian rhapsody by queen",
        "b95bba6b-play_rolling_in_the_deep.wav": "put on rolling in the deep by adele",
        # task 4 was cancelled (skipped), task 5 never annotated: no reviewed transcript
    }
    # The plain export carries predictions only inside annotations: task 5's is not in the file.
    assert MachineTranscript.objects.filter(model_name="whisper-tiny.en").count() == 4
    assert set(MachineTranscript.objects.filter(model_name="whisper-tiny.en").values_list("text", flat=True)) >= {
        "play shake it off by tailor swift",
        "set a time for ten minutes",
    }
    assert FinalTranscript.objects.filter(source="imported").count() == 3
    assert "3 with a reviewed transcript" in report.text()


def test_the_snapshot_export_brings_every_prediction():
    imported("asr_full.json")
    assert MachineTranscript.objects.filter(model_name="whisper-tiny.en").count() == 5
    assert MachineTranscript.objects.filter(text="what's the whether like in berlin tomorrow").exists()


def test_json_min_imports_the_reviewed_transcripts():
    report = imported("asr_min.json")
    assert report.count("imported") == 4  # the cancelled-only task 4 is not in JSON_MIN at all
    assert finals()["cf4eb969-play_bohemian_rhapsody.wav"] == "play bohemian rhapsody by queen"


def test_the_combined_project_takes_the_textarea_not_the_spans_on_whispers_text():
    imported("combined.json")
    imported("combined_ui.json")
    assert finals() == {
        "d0fb8e8b-play_shake_it_off.wav": "play shake it off by taylor swift",
        "cf4eb969-play_bohemian_rhapsody.wav": "play bohemian rhapsody by queen",
    }


def test_what_cannot_be_imported_is_reported_and_nothing_half_written(tmp_path):
    report = imported("ner.json")  # a text project: no audio
    assert report.count("skipped") == 4 and Clip.objects.count() == 0
    assert report.rows[0].message.startswith("no audio in its data")
    missing = labelstudio.import_tasks(labelstudio.read_tasks(LS / "asr.json"), audio_dir=tmp_path)
    assert missing.count("skipped") == 5 and "not found in" in missing.rows[0].message
    broken = tmp_path / "broken.json"
    broken.write_text('{"not": "a list"}')
    with pytest.raises(labelstudio.LabelStudioError, match="expected a list of tasks"):
        labelstudio.read_tasks(broken)
    again = imported("asr.json")
    assert again.count("imported") == 5
    assert imported("asr.json").count("duplicate") == 5  # a second import changes nothing
    assert Clip.objects.count() == 5


def test_the_command_prints_each_task_and_fails_on_skips(capsys):
    call_command("import_labelstudio", str(LS / "asr.json"), audio_dir=str(AUDIO))
    out = capsys.readouterr().out
    assert "task 1: imported" in out and "summary: 5 task(s): 5 imported" in out
    with pytest.raises(CommandError, match="4 task\\(s\\) skipped"):
        call_command("import_labelstudio", str(LS / "ner.json"), audio_dir=str(AUDIO))
    with pytest.raises(CommandError, match="no such folder"):
        call_command("import_labelstudio", str(LS / "asr.json"), audio_dir="/nonexistent")


def test_the_export_is_label_studio_tasks_that_import_again(reviewer, lead, tmp_path):
    import_entities({"kind": "artist", "name": "Adele", "popularity": 90})
    queue = make_queue(reviewer)
    make_clip("play hello by adele")
    adele = Entity.objects.get(name="Adele")
    reviewed(reviewer, queue, "play hello by adele", spans=(SpanInput(14, 19, "adele", "artist", entity_id=adele.pk),))
    export = exports.build_export(export_id=Export.objects.create(requested_by=lead, format="labelstudio").pk)
    export.refresh_from_db()
    archive = zipfile.ZipFile(io.BytesIO(b"".join(exports.read_archive(export))))
    tasks = json.loads(archive.read("labelstudio.json"))
    config = archive.read("labelstudio.xml").decode()
    assert '<Audio name="audio" value="$audio"/>' in config and '<Label value="ARTIST"/>' in config
    [task] = tasks
    assert task["data"]["audio"].startswith("/data/local-files/?d=audio/") and task["data"]["transcript"]
    result = task["annotations"][0]["result"]
    assert result[0]["value"]["text"] == ["play hello by adele"]
    assert result[1]["value"] == {"start": 14, "end": 19, "text": "adele", "labels": ["ARTIST"]}

    # Re-imported into an installation without the clip: the same transcript, reviewed.
    folder = tmp_path / "unpacked"
    archive.extractall(folder)
    Clip.objects.all().delete()
    report = labelstudio.import_tasks(labelstudio.read_tasks(folder / "labelstudio.json"), audio_dir=folder / "audio")
    assert report.count("imported") == 1
    assert FinalTranscript.objects.get().text == "play hello by adele"
    assert Path(folder / "audio").is_dir()
