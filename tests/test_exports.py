"""Exports for training: formats, what qualifies, no identity, the RQ job, progress, download."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from annotate.audit.models import AuditEvent
from annotate.clips import ingest, vault
from annotate.clips.models import Clip, MachineTranscript
from annotate.escalation.services import FlagInput, flag_clip
from annotate.jobs.models import Job
from annotate.leads import exports, selectors, services
from annotate.leads.models import Export
from annotate.quality import services as quality
from annotate.queues import claims
from annotate.review.services import Submission, submit
from tests.factories import make_clip, make_queue
from tests.support import AUDIO


def review(user, queue, text, **fields):
    task = claims.claim_next(user=user, queue=queue)
    submit(
        user=user,
        task_id=task.pk,
        submission=Submission(idempotency_key=uuid.uuid4().hex, corrected_text=text, **fields),
    )
    return task


def reviewed(reviewer, queue, *texts, **clip_fields):
    clips = [make_clip(text, **clip_fields) for text in texts]
    for text in texts:
        review(reviewer, queue, text.upper())
    return clips


def open_zip(export: Export) -> zipfile.ZipFile:
    export.refresh_from_db()
    with default_storage.open(export.file_name, "rb") as fh:
        return zipfile.ZipFile(io.BytesIO(fh.read()))


def build(lead, fmt, queue=None) -> Export:
    export = Export.objects.create(requested_by=lead, format=fmt, queue=queue)
    return exports.build_export(export_id=export.pk)


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """Temporary folders go here, so a test can see that none is left behind."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# --- formats ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_nemo_manifest(reviewer, lead, scratch):
    queue = make_queue(reviewer)
    first, second = reviewed(reviewer, queue, "play halo", "set a timer")
    export = build(lead, "nemo")
    assert (export.state, export.clip_count, export.done, export.total, export.progress) == ("done", 2, 2, 2, 1.0)
    archive = open_zip(export)
    lines = [json.loads(line) for line in archive.read("manifest.json").decode().splitlines()]
    assert lines == [
        {"audio_filepath": f"audio/{first.public_id}.wav", "duration": 1.0, "text": "PLAY HALO"},
        {"audio_filepath": f"audio/{second.public_id}.wav", "duration": 1.0, "text": "SET A TIMER"},
    ]
    wav = archive.read(f"audio/{first.public_id}.wav")
    assert wav[:4] == b"RIFF" and wav == vault.load_audio(first)
    assert list(scratch.iterdir()) == []  # the temporary folder is gone


@pytest.mark.django_db
def test_jsonl_and_csv(reviewer, lead):
    queue = make_queue(reviewer)
    (clip,) = reviewed(reviewer, queue, "play halo", locale="en-GB", device_type="phone")
    record = json.loads(open_zip(build(lead, "jsonl")).read("transcripts.jsonl"))
    assert record == {
        "id": clip.public_id,
        "audio_filepath": f"audio/{clip.public_id}.wav",
        "duration": 1.0,
        "text": "PLAY HALO",
        "locale": "en-GB",
        "device_type": "phone",
        "source": "single",
    }
    archive = open_zip(build(lead, "csv"))
    rows = list(csv.DictReader(io.StringIO(archive.read("transcripts.csv").decode())))
    assert rows == [{k: str(v) for k, v in record.items()}]
    assert f"audio/{clip.public_id}.wav" in archive.namelist()


@pytest.mark.django_db
def test_hugging_face_audiofolder(reviewer, lead):
    queue = make_queue(reviewer)
    (clip,) = reviewed(reviewer, queue, "play halo")
    archive = open_zip(build(lead, "hf"))
    assert sorted(archive.namelist()) == sorted(["train/metadata.csv", f"train/{clip.public_id}.wav"])
    rows = list(csv.DictReader(io.StringIO(archive.read("train/metadata.csv").decode())))
    assert rows == [
        {
            "file_name": f"{clip.public_id}.wav",
            "transcription": "PLAY HALO",
            "duration": "1.0",
            "locale": "en-US",
            "id": clip.public_id,
        }
    ]


# --- what qualifies -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_final_reviewed_unflagged_non_accidental_clips_inside_retention(reviewer, other_reviewer, lead, settings):
    settings.ANNOTATE_RETENTION_DAYS = 30
    queue = make_queue(reviewer)
    second_look = make_queue(other_reviewer, name="Second look", locales=["en-US"])
    keep, old, old_upload, flagged = reviewed(reviewer, queue, "keep", "old", "old upload", "flagged")
    Clip.objects.filter(pk=old.pk).update(captured_at=timezone.now() - timedelta(days=31))
    Clip.objects.filter(pk=old_upload.pk).update(created_at=timezone.now() - timedelta(days=31))
    make_clip("accidental")
    review(reviewer, queue, "", accidental=True)
    make_clip("not reviewed")
    disputed = make_queue(reviewer, other_reviewer, name="disputed", overlap=2, locales=["xx-XX"])
    make_clip("halo", locale="xx-XX")
    review(reviewer, disputed, "halo")
    review(other_reviewer, disputed, "hello")
    task = claims.claim_next(user=other_reviewer, queue=second_look)
    while task.clip != flagged:  # claims pile up (nothing is submitted) until the one to flag
        task = claims.claim_next(user=other_reviewer, queue=second_look)
    flag_clip(user=other_reviewer, flag=FlagInput(task_id=task.pk, category="danger_now"))
    assert [f.clip for f in selectors.exportable_finals()] == [keep]
    archive = open_zip(build(lead, "jsonl"))
    assert [json.loads(line)["id"] for line in archive.read("transcripts.jsonl").decode().splitlines()] == [
        keep.public_id
    ]


@pytest.mark.django_db
def test_a_real_flag_keeps_a_clip_out_of_exports(reviewer, other_reviewer):
    music = make_queue(reviewer, name="Music")
    second_look = make_queue(other_reviewer, name="Second look")
    make_clip("help me")
    review(reviewer, music, "help me")
    assert selectors.exportable_finals().count() == 1
    task = claims.claim_next(user=other_reviewer, queue=second_look)
    flag_clip(user=other_reviewer, flag=FlagInput(task_id=task.pk, category="danger_now"))
    assert selectors.exportable_finals().count() == 0


@pytest.mark.django_db
def test_an_export_of_one_queue(reviewer, lead):
    music = make_queue(reviewer, name="Music", locales=["en-US"])
    weather = make_queue(reviewer, name="Weather", locales=["en-GB"])
    reviewed(reviewer, music, "play halo")
    (rain,) = reviewed(reviewer, weather, "rain", locale="en-GB")
    archive = open_zip(build(lead, "nemo", queue=weather))
    assert archive.read("manifest.json").decode().count("\n") == 1
    assert f"audio/{rain.public_id}.wav" in archive.namelist()


@pytest.mark.django_db
def test_an_export_never_carries_an_identity_or_a_reviewer(reviewer, lead, canary):
    queue = make_queue(reviewer)
    result = ingest.ingest_clip(data=(AUDIO / "timer.ogg").read_bytes(), meta=ingest.parse_meta(canary.meta()))
    Clip.objects.filter(pk=result.clip.pk).update(state=Clip.State.READY)
    MachineTranscript.objects.create(clip=result.clip, model_name="tiny.en", text="set a timer for ten minutes")
    review(reviewer, queue, "set a timer for ten minutes")
    for fmt in Export.Format.values:
        export = build(lead, fmt)
        assert export.clip_count == 1
        with default_storage.open(export.file_name, "rb") as fh:
            blob = fh.read()
        archive = zipfile.ZipFile(io.BytesIO(blob))
        for name in archive.namelist():
            content = archive.read(name)
            assert canary.found_in(content) == [], (fmt, name)
            assert canary.found_in(name) == []
            if not name.endswith(".wav"):
                assert b"rita" not in content and b"x" * 64 not in content


# --- progress, failure, the temporary folder ----------------------------------------------------------------


@pytest.mark.django_db
def test_progress_is_recorded_as_the_job_goes(reviewer, lead, monkeypatch):
    queue = make_queue(reviewer)
    reviewed(reviewer, queue, "one", "two", "three")
    export = Export.objects.create(requested_by=lead, format="jsonl")
    seen = []
    load = vault.load_audio

    def watching(clip):
        current = Export.objects.get(pk=export.pk)
        seen.append((current.state, current.done, current.total))
        return load(clip)

    monkeypatch.setattr(vault, "load_audio", watching)
    exports.build_export(export_id=export.pk)
    assert seen == [("running", 0, 3), ("running", 1, 3), ("running", 2, 3)]


@pytest.mark.django_db
def test_a_failing_export_is_marked_failed_and_leaves_nothing_behind(
    reviewer, lead, monkeypatch, scratch, private_storage, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""
    queue = make_queue(reviewer)
    reviewed(reviewer, queue, "one", "two")

    def broken(clip):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(vault, "load_audio", broken)
    with django_capture_on_commit_callbacks(execute=True):
        export = services.request_export(lead=lead, fmt="nemo")
    export.refresh_from_db()
    assert export.state == "failed" and "disk on fire" in export.error
    assert list(scratch.iterdir()) == []
    assert not (private_storage / "exports").exists() or list((private_storage / "exports").iterdir()) == []


@pytest.mark.django_db
def test_the_export_runs_in_process_without_redis(client, reviewer, lead, settings, django_capture_on_commit_callbacks):
    settings.REDIS_URL = ""
    queue = make_queue(reviewer)
    reviewed(reviewer, queue, "one")
    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/lead/exports/", {"format": "nemo"})
    assert response.status_code == 302
    export = Export.objects.get()
    assert export.state == "done" and export.clip_count == 1
    status = client.get(f"/lead/exports/{export.pk}/status").json()
    assert status["state"] == "done" and status["progress"] == 1.0
    assert status["download_url"] == f"/lead/exports/{export.pk}/download"
    assert AuditEvent.objects.filter(action="export.request", actor=lead).exists()


@pytest.mark.django_db
def test_download_is_for_leads_audited_and_not_cached(client, reviewer, lead):
    queue = make_queue(reviewer)
    reviewed(reviewer, queue, "one")
    export = build(lead, "nemo")
    client.force_login(lead)
    response = client.get(f"/lead/exports/{export.pk}/download", REMOTE_ADDR="10.9.8.7")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "no-store, private"
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert zipfile.ZipFile(io.BytesIO(body)).read("manifest.json")
    event = AuditEvent.objects.get(action="export.download")
    assert (event.actor, event.ip, event.details["clips"]) == (lead, "10.9.8.7", 1)
    client.force_login(reviewer)
    assert client.get(f"/lead/exports/{export.pk}/download").status_code == 403


@pytest.mark.django_db
def test_an_unfinished_export_cannot_be_downloaded(client, lead):
    export = Export.objects.create(requested_by=lead, format="nemo")
    client.force_login(lead)
    assert client.get(f"/lead/exports/{export.pk}/download").status_code == 404


@pytest.mark.django_db
def test_an_unknown_format_is_refused(client, lead):
    client.force_login(lead)
    assert client.post("/lead/exports/", {"format": "mp3"}).status_code == 400
    with pytest.raises(services.ConsoleError):
        services.request_export(lead=lead, fmt="mp3")
    assert not Export.objects.exists()


# --- the RQ job on Redis ------------------------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_export_job_runs_on_a_real_rq_worker(client, reviewer, other_reviewer, lead, rq_queues, scratch):
    import django_rq
    from rq import SimpleWorker

    queue = make_queue(reviewer, other_reviewer, overlap=2)
    clip = make_clip("play halo")
    review(reviewer, queue, "play halo")
    review(other_reviewer, queue, "play hello")
    quality.adjudicate(clip=clip, text="Play Halo", lead=lead)
    client.force_login(lead)
    assert client.post("/lead/exports/", {"format": "nemo"}).status_code == 302
    export = Export.objects.get()
    rq_queue = django_rq.get_queue("default")
    assert rq_queue.count == 1 and export.state == "queued"
    assert client.get(f"/lead/exports/{export.pk}/status").json()["progress"] == 0.0

    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)

    export.refresh_from_db()
    assert export.state == "done", export.error
    manifest = open_zip(export).read("manifest.json").decode()
    assert json.loads(manifest) == {
        "audio_filepath": f"audio/{clip.public_id}.wav",
        "duration": 1.0,
        "text": "Play Halo",
    }
    assert list(scratch.iterdir()) == []
    download = client.get(f"/lead/exports/{export.pk}/download")
    assert download.status_code == 200
    assert AuditEvent.objects.filter(action="export.build").exists()
    assert AuditEvent.objects.filter(action="export.download", actor=lead).exists()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_failing_job_on_rq_ends_failed_after_its_retries(reviewer, lead, rq_queues, settings, monkeypatch):
    import django_rq
    from rq import SimpleWorker

    settings.ANNOTATE_EXPORT_RETRIES = 0
    queue = make_queue(reviewer)
    reviewed(reviewer, queue, "one")
    monkeypatch.setattr(vault, "load_audio", lambda clip: (_ for _ in ()).throw(RuntimeError("no key")))
    export = services.request_export(lead=lead, fmt="csv")
    rq_queue = django_rq.get_queue("default")
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
    export.refresh_from_db()
    assert export.state == "failed" and "no key" in export.error
    job = Job.objects.get(key=f"export:{export.pk}")  # the database, not Redis, holds the outcome
    assert job.state == Job.State.FAILED and "no key" in job.last_error
