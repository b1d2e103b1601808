"""Exports for training: formats, what qualifies, no identity, the RQ job, progress, download;
encrypted at rest and streamed, expiry, and withdrawing clips (rebuilds)."""

from __future__ import annotations

import base64
import csv
import io
import json
import stat
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.files.storage import FileSystemStorage
from django.db import connections, transaction
from django.utils import timezone

from annotate.audit.models import AuditEvent
from annotate.clips import crypto, ingest, vault
from annotate.clips import services as clip_services
from annotate.clips.models import Clip, MachineTranscript
from annotate.escalation.services import FlagInput, flag_clip
from annotate.jobs import services as jobs
from annotate.jobs.models import Job
from annotate.leads import exports, selectors, services
from annotate.leads.models import Export, ExportItem
from annotate.quality import services as quality
from annotate.queues import claims
from tests import factories
from tests.factories import make_clip, make_queue
from tests.support import AUDIO, as_user, stored_files

OLD_KEY = base64.b64encode(b"o" * 32).decode()
NEW_KEY = base64.b64encode(b"n" * 32).decode()


def review(user, queue, text, **fields):
    return factories.reviewed(user, queue, text, **fields)[0]


def reviewed(reviewer, queue, *texts, **clip_fields):
    clips = [make_clip(text, **clip_fields) for text in texts]
    for text in texts:
        review(reviewer, queue, text.upper())
    return clips


def plain_zip(export: Export) -> bytes:
    """The stored archive, decrypted (what a download streams)."""
    export.refresh_from_db()
    return b"".join(exports.read_archive(export))


def open_zip(export: Export) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(plain_zip(export)))


def exported_ids(export: Export) -> list[str]:
    """The public ids in a JSON-lines export's manifest."""
    lines = open_zip(export).read("transcripts.jsonl").decode().splitlines()
    return [json.loads(line)["id"] for line in lines]


def item_ids(export: Export) -> set[int]:
    return set(ExportItem.objects.filter(export=export).values_list("clip_id", flat=True))


def build(lead, fmt, queue=None) -> Export:
    export = Export.objects.create(requested_by=lead, format=fmt, queue=queue)
    return exports.build_export(export_id=export.pk)


def erase(*clips: Clip) -> dict:
    """What an erasure does to exports: withdraw the clips, then delete them, in one transaction."""
    with transaction.atomic():
        counts = exports.withdraw_clips([clip.pk for clip in clips], reason="erasure")
        Clip.objects.filter(pk__in=[clip.pk for clip in clips]).delete()
    return counts


def flag(clip: Clip, reviewer, queue) -> None:
    """The reviewer flags the clip from `queue` (claims pile up, nothing is submitted, until it comes)."""
    task = claims.claim_next(user=reviewer, queue=queue)
    while task.clip_id != clip.pk:
        task = claims.claim_next(user=reviewer, queue=queue)
    flag_clip(user=reviewer, flag=FlagInput(task_id=task.pk, category="danger_now"))


def closing_connections(fn):
    """For a thread's work: give its database connection back when done."""

    def run():
        try:
            return fn()
        finally:
            connections.close_all()

    return run


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


def test_a_clip_flagged_after_the_export_was_built_leaves_the_stored_export_at_once(
    reviewer, other_reviewer, lead, private_storage, django_capture_on_commit_callbacks
):
    music = make_queue(reviewer, name="Music")
    second_look = make_queue(other_reviewer, name="Second look")
    kept, flagged = make_clip("play jazz"), make_clip("help me")
    review(reviewer, music, "play jazz")
    review(reviewer, music, "help me")
    export = build(lead, "jsonl")
    assert set(exported_ids(export)) == {kept.public_id, flagged.public_id}

    with django_capture_on_commit_callbacks(execute=True):
        flag(flagged, other_reviewer, second_look)
    export.refresh_from_db()
    assert item_ids(export) == {kept.pk}
    if export.state == Export.State.QUEUED:  # with Redis the rebuild waits for a worker; without, it ran
        assert export.file_name == ""  # the old archive is gone already
        export = exports.build_export(export_id=export.pk)
    assert exported_ids(export) == [kept.public_id]


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
        archive = open_zip(export)
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
def test_download_is_for_leads_audited_streamed_and_not_cached(client, reviewer, lead):
    queue = make_queue(reviewer)
    reviewed(reviewer, queue, "one", "two", "three")
    export = build(lead, "nemo")
    client.force_login(lead)
    response = client.get(f"/lead/exports/{export.pk}/download", REMOTE_ADDR="10.9.8.7")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "no-store, private"
    assert response["Content-Disposition"] == f'attachment; filename="annotate-export-{export.pk}-nemo.zip"'
    chunks = list(response.streaming_content)
    assert len(chunks) >= 2  # three 1-second clips are about 96 kB: two chunks of the stream
    body = b"".join(chunks)
    assert response["Content-Length"] == str(export.size_bytes) == str(len(body))
    assert zipfile.ZipFile(io.BytesIO(body)).read("manifest.json")
    event = AuditEvent.objects.get(action="export.download")
    assert (event.actor, event.ip, event.details["clips"]) == (lead, "10.9.8.7", 3)
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
    kicks = [job for job in rq_queue.jobs if job.description.startswith("kick ")]  # derive the two annotations
    assert rq_queue.count - len(kicks) == 1 and export.state == "queued"
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


# --- encrypted at rest, streamed --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_stored_export_is_ciphertext_readable_by_the_app_alone(reviewer, lead, private_storage):
    queue = make_queue(reviewer)
    first, _ = reviewed(reviewer, queue, "play halo", "set a timer")
    export = build(lead, "nemo")
    path = private_storage / export.file_name
    blob = path.read_bytes()
    plain = plain_zip(export)
    assert blob.startswith(crypto.STREAM_MAGIC)
    assert plain.startswith(b"PK\x03\x04") and len(plain) == export.size_bytes
    wav = vault.load_audio(first)
    for secret in (b"PK\x03\x04", b"RIFF", b"manifest.json", b"PLAY HALO", wav[44:1044], first.public_id.encode()):
        assert secret not in blob
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700  # the exports folder


@pytest.mark.django_db
def test_no_plain_audio_touches_the_disk_while_an_export_is_built(reviewer, lead, scratch, monkeypatch):
    queue = make_queue(reviewer)
    clips = reviewed(reviewer, queue, "one", "two")
    wavs = [vault.load_audio(clip) for clip in clips]
    seen: list[bytes] = []
    save = FileSystemStorage.save

    def watching(self, name, content, *args, **kwargs):
        """When the archive is stored: every file in the temporary folder, and what is stored."""
        seen.extend(path.read_bytes() for path in scratch.rglob("*") if path.is_file())
        seen.append(content.read())
        content.seek(0)
        return save(self, name, content, *args, **kwargs)

    monkeypatch.setattr(FileSystemStorage, "save", watching)
    export = build(lead, "hf")
    assert export.clip_count == 2 and len(seen) == 2  # the temporary file, and the stored copy of it
    for data in seen:
        assert data.startswith(crypto.STREAM_MAGIC)
        assert b"RIFF" not in data and b"metadata.csv" not in data
        assert all(wav[44:2044] not in data for wav in wavs)
    assert list(scratch.iterdir()) == []


@pytest.mark.django_db
def test_exports_survive_key_rotation_and_cannot_be_moved(settings, reviewer, lead, private_storage):
    settings.ANNOTATE_DATA_KEY = f"old:{OLD_KEY}"
    queue = make_queue(reviewer)
    reviewed(reviewer, queue, "one")
    older = build(lead, "nemo")
    settings.ANNOTATE_DATA_KEY = f"new:{NEW_KEY},old:{OLD_KEY}"
    newer = build(lead, "nemo")
    assert (private_storage / older.file_name).read_bytes().startswith(crypto.STREAM_MAGIC + bytes([3]) + b"old")
    assert (private_storage / newer.file_name).read_bytes().startswith(crypto.STREAM_MAGIC + bytes([3]) + b"new")
    assert open_zip(older).read("manifest.json") == open_zip(newer).read("manifest.json")

    moved = Export.objects.create(requested_by=lead, format="nemo", state="done", file_name=older.file_name)
    with pytest.raises(crypto.DecryptionError):
        plain_zip(moved)  # another export's file: bound to export:<pk>

    settings.ANNOTATE_DATA_KEY = f"new:{NEW_KEY}"  # the old key retired while its export was still kept
    with pytest.raises(crypto.DecryptionError, match="unknown key id 'old'"):
        plain_zip(older)


@pytest.mark.django_db
def test_a_changed_export_file_is_refused_before_anything_is_sent_or_audited(client, reviewer, lead, private_storage):
    queue = make_queue(reviewer)
    reviewed(reviewer, queue, "one")
    export = build(lead, "nemo")
    path = private_storage / export.file_name
    blob = bytearray(path.read_bytes())
    blob[40] ^= 0x01  # inside the first chunk
    path.write_bytes(bytes(blob))
    client.force_login(lead)
    with pytest.raises(crypto.DecryptionError):
        client.get(f"/lead/exports/{export.pk}/download")
    assert not AuditEvent.objects.filter(action="export.download").exists()


# --- expiry ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_export_expires_after_its_days_and_its_file_goes(
    client, reviewer, lead, settings, private_storage, django_capture_on_commit_callbacks
):
    settings.ANNOTATE_EXPORT_TTL_DAYS = 7
    queue = make_queue(reviewer)
    reviewed(reviewer, queue, "one")
    export = build(lead, "nemo")
    assert export.expires_at == export.finished_at + timedelta(days=7)
    path = private_storage / export.file_name
    assert exports.delete_expired_exports(now=export.expires_at - timedelta(seconds=1)) == 0
    assert path.exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert exports.delete_expired_exports(now=export.expires_at) == 1
    assert exports.delete_expired_exports(now=export.expires_at + timedelta(days=1)) == 0  # once
    export.refresh_from_db()
    assert (export.state, export.file_name, item_ids(export)) == ("expired", "", set())
    assert not path.exists() and stored_files(private_storage / "exports") == []
    event = AuditEvent.objects.get(action="export.expire")
    assert (event.target, event.details["clips"]) == (f"export:{export.pk}", 1)

    client.force_login(lead)
    response = client.get(f"/lead/exports/{export.pk}/download")
    assert response.status_code == 410
    assert b"expired on" in response.content and b"Start a new export" in response.content
    status = client.get(f"/lead/exports/{export.pk}/status").json()
    assert (status["state"], status["download_url"]) == ("expired", None)
    page = client.get("/lead/exports/").content.decode()
    assert 'data-state="expired"' in page and "Download zip" not in page


@pytest.mark.django_db
def test_past_its_expiry_an_export_is_gone_before_the_sweeper_comes(client, reviewer, lead):
    queue = make_queue(reviewer)
    reviewed(reviewer, queue, "one")
    export = build(lead, "nemo")
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client.force_login(lead)
    assert client.get(f"/lead/exports/{export.pk}/download").status_code == 410
    assert client.get(f"/lead/exports/{export.pk}/status").json()["state"] == "expired"
    assert not AuditEvent.objects.filter(action="export.download").exists()


@pytest.mark.django_db
def test_the_sweeper_deletes_expired_exports(reviewer, lead, settings, private_storage):
    settings.REDIS_URL = ""
    assert "annotate.leads.exports.delete_expired_exports" in settings.ANNOTATE_SWEEP_HOOKS
    queue = make_queue(reviewer)
    reviewed(reviewer, queue, "one")
    export = build(lead, "nemo")
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert jobs.sweep()["delete_expired_exports"] == 1
    export.refresh_from_db()
    assert export.state == "expired"


@pytest.mark.django_db
def test_a_rebuild_keeps_the_first_expiry(reviewer, lead, django_capture_on_commit_callbacks, settings):
    settings.REDIS_URL = ""
    queue = make_queue(reviewer)
    first, _ = reviewed(reviewer, queue, "one", "two")
    export = build(lead, "jsonl")
    expires = timezone.now() + timedelta(hours=1)
    Export.objects.filter(pk=export.pk).update(expires_at=expires)
    with django_capture_on_commit_callbacks(execute=True):
        erase(first)
    export.refresh_from_db()
    assert export.state == "done" and export.expires_at == expires


# --- withdrawing clips ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_erased_clip_is_withdrawn_and_the_export_rebuilt_without_it(
    client, reviewer, lead, settings, private_storage, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""  # the rebuild runs in process when the erasure commits
    queue = make_queue(reviewer)
    first, second, third = reviewed(reviewer, queue, "one", "two", "three")
    export = build(lead, "jsonl")
    old_file = export.file_name
    assert item_ids(export) == {first.pk, second.pk, third.pk}

    with django_capture_on_commit_callbacks(execute=True):
        assert erase(first) == {"exports": 1, "export_rows": 1}

    export.refresh_from_db()
    assert (export.state, export.clip_count, export.withdrawn_count) == ("done", 2, 1)
    assert exported_ids(export) == [second.public_id, third.public_id]
    assert item_ids(export) == {second.pk, third.pk}
    assert export.file_name != old_file and not (private_storage / old_file).exists()
    assert stored_files(private_storage / "exports") == [private_storage / export.file_name]
    assert export.note.startswith("rebuilt without 1 clip on ")
    event = AuditEvent.objects.get(action="export.withdraw")
    assert event.details == {"reason": "erasure", "clips": 1, "left": 2, "outcome": "rebuild"}
    assert AuditEvent.objects.filter(action="export.build", details__rebuilt=True).count() == 1

    client.force_login(lead)
    status = client.get(f"/lead/exports/{export.pk}/status").json()
    assert status["note"] == export.note and status["download_url"]
    assert "rebuilt without 1 clip on" in client.get("/lead/exports/").content.decode()


@pytest.mark.django_db
def test_a_rebuild_takes_no_new_clip_and_drops_one_flagged_since(
    reviewer, other_reviewer, lead, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""
    queue = make_queue(reviewer)
    second_look = make_queue(other_reviewer, name="Second look")
    first, second, third = reviewed(reviewer, queue, "one", "two", "three")
    export = build(lead, "jsonl")
    (newcomer,) = reviewed(reviewer, queue, "four")
    with django_capture_on_commit_callbacks(execute=True):  # the flag takes it out at once (and rebuilds)
        flag(second, other_reviewer, second_look)
    assert newcomer.public_id in [f.clip.public_id for f in selectors.exportable_finals()]

    with django_capture_on_commit_callbacks(execute=True):
        erase(first)

    export.refresh_from_db()
    assert export.state == "done"
    assert exported_ids(export) == [third.public_id]
    assert item_ids(export) == {third.pk}


@pytest.mark.django_db
def test_withdrawing_every_clip_of_an_export_withdraws_it(
    client, reviewer, lead, settings, private_storage, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""
    music = make_queue(reviewer, name="Music", locales=["en-US"])
    weather = make_queue(reviewer, name="Weather", locales=["en-GB"])
    (song,) = reviewed(reviewer, music, "play halo")
    (rain,) = reviewed(reviewer, weather, "rain", locale="en-GB")
    only_weather = build(lead, "jsonl", queue=weather)
    music_export = build(lead, "jsonl", queue=music)
    path = private_storage / only_weather.file_name

    with django_capture_on_commit_callbacks(execute=True):
        assert erase(rain) == {"exports": 1, "export_rows": 1}

    only_weather.refresh_from_db()
    assert (only_weather.state, only_weather.file_name, only_weather.clip_count) == ("withdrawn", "", 0)
    assert not path.exists()
    assert only_weather.note.startswith("withdrawn on ")
    assert only_weather.note.endswith(": every clip in it (1 clip) was erased or purged")
    music_export.refresh_from_db()
    assert music_export.state == "done" and exported_ids(music_export) == [song.public_id]
    client.force_login(lead)
    response = client.get(f"/lead/exports/{only_weather.pk}/download")
    assert response.status_code == 410 and b"was withdrawn" in response.content
    status = client.get(f"/lead/exports/{only_weather.pk}/status").json()
    assert (status["state"], status["download_url"]) == ("withdrawn", None)


@pytest.mark.django_db
def test_two_withdrawals_before_the_rebuild_runs_make_one_rebuild(reviewer, lead, private_storage):
    queue = make_queue(reviewer)
    first, second, third = reviewed(reviewer, queue, "one", "two", "three")
    export = build(lead, "jsonl")
    assert erase(first) == {"exports": 1, "export_rows": 1}
    assert erase(second) == {"exports": 1, "export_rows": 1}
    assert erase(first, second) == {"exports": 0, "export_rows": 0}  # gone already
    export.refresh_from_db()
    assert (export.state, export.file_name, export.withdrawn_count) == ("queued", "", 2)
    job = Job.objects.get(key=f"export:{export.pk}", state=Job.State.PENDING)
    jobs.run(job.pk, inline=True)
    export.refresh_from_db()
    assert export.state == "done" and exported_ids(export) == [third.public_id]
    assert export.note.startswith("rebuilt without 2 clips on ")


@pytest.mark.django_db
def test_a_queued_export_whose_job_was_lost_is_scheduled_again(reviewer, lead):
    assert (
        "annotate.leads.exports.schedule_lost_exports" in __import__("django.conf").conf.settings.ANNOTATE_SWEEP_HOOKS
    )
    queue = make_queue(reviewer)
    first, _ = reviewed(reviewer, queue, "one", "two")
    export = build(lead, "jsonl")
    erase(first)
    Job.objects.filter(key=f"export:{export.pk}").update(state=Job.State.DONE)  # closed by a build that had finished
    assert exports.schedule_lost_exports() == 1
    assert exports.schedule_lost_exports() == 0
    assert Job.objects.filter(key=f"export:{export.pk}", state=Job.State.PENDING).count() == 1


@pytest.mark.django_db
def test_a_clip_withdrawn_while_the_first_build_runs_is_left_out(reviewer, lead, private_storage, monkeypatch):
    queue = make_queue(reviewer)
    first, second, third = reviewed(reviewer, queue, "one", "two", "three")
    export = Export.objects.create(requested_by=lead, format="jsonl")
    load = vault.load_audio
    erased = []

    def erasing_the_first_meanwhile(clip):
        if clip.pk == third.pk and not erased:  # the first clip is in the archive already
            erased.append(erase(first))
        return load(clip)

    monkeypatch.setattr(vault, "load_audio", erasing_the_first_meanwhile)
    exports.build_export(export_id=export.pk)
    assert erased == [{"exports": 0, "export_rows": 0}]  # a first build holds no items until it is done
    export.refresh_from_db()
    assert export.state == "done" and exported_ids(export) == [second.public_id, third.public_id]
    assert item_ids(export) == {second.pk, third.pk}
    assert stored_files(private_storage / "exports") == [private_storage / export.file_name]


@pytest.mark.django_db
def test_a_clip_withdrawn_while_a_rebuild_runs_is_left_out(reviewer, lead, private_storage, monkeypatch):
    queue = make_queue(reviewer)
    first, second, third = reviewed(reviewer, queue, "one", "two", "three")
    export = build(lead, "jsonl")
    old_file = export.file_name  # deleted when the erasure commits (never, in this test's transaction)
    erase(first)
    load = vault.load_audio
    erased = []

    def erasing_the_second_meanwhile(clip):
        if clip.pk == third.pk and not erased:
            erased.append(erase(second))
        return load(clip)

    monkeypatch.setattr(vault, "load_audio", erasing_the_second_meanwhile)
    exports.build_export(export_id=export.pk)
    assert erased == [{"exports": 1, "export_rows": 1}]
    export.refresh_from_db()
    assert (export.state, export.withdrawn_count) == ("done", 2)
    assert exported_ids(export) == [third.public_id] and item_ids(export) == {third.pk}
    assert set(stored_files(private_storage / "exports")) == {
        private_storage / old_file,
        private_storage / export.file_name,
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_waits_for_a_finishing_build_then_rebuilds_it(reviewer, lead, settings, monkeypatch):
    """The build holds the clips' locks while it records its archive; the erasure waits, then finds the items."""
    settings.REDIS_URL = ""
    queue = make_queue(reviewer)
    first, second = reviewed(reviewer, queue, "one", "two")
    export = Export.objects.create(requested_by=lead, format="jsonl")
    recording = threading.Event()
    checks = []
    exportable = exports._exportable

    def pausing(this):
        checks.append(this.pk)
        if len(checks) == 2:  # the check under the locks, in the first build's last step
            recording.set()
            time.sleep(0.5)
        return exportable(this)

    monkeypatch.setattr(exports, "_exportable", pausing)

    def erasure():
        assert recording.wait(10)
        return erase(first)  # on commit, without Redis, the rebuild runs in this thread

    with ThreadPoolExecutor(max_workers=1) as pool:
        erased = pool.submit(closing_connections(erasure))
        exports.build_export(export_id=export.pk)
        assert erased.result(timeout=30) == {"exports": 1, "export_rows": 1}
    export.refresh_from_db()
    assert (export.state, export.withdrawn_count) == ("done", 1)
    assert exported_ids(export) == [second.public_id]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_build_finishing_during_a_withdrawal_waits_then_builds_without_the_clip(reviewer, lead, private_storage):
    """The erasure holds the clip's lock first; the build waits to record its archive, sees the clip gone, and
    builds again without it."""
    queue = make_queue(reviewer)
    first, second = reviewed(reviewer, queue, "one", "two")
    export = Export.objects.create(requested_by=lead, format="jsonl")
    locked = threading.Event()

    def erasure():
        with transaction.atomic():
            counts = exports.withdraw_clips([first.pk], reason="erasure")  # locks the clip's row
            locked.set()
            time.sleep(0.5)  # the build writes its archive meanwhile, then waits for the lock
            Clip.objects.filter(pk=first.pk).delete()
        return counts

    with ThreadPoolExecutor(max_workers=1) as pool:
        erased = pool.submit(closing_connections(erasure))
        assert locked.wait(10)
        exports.build_export(export_id=export.pk)
        assert erased.result(timeout=30) == {"exports": 0, "export_rows": 0}
    export.refresh_from_db()
    assert export.state == "done" and exported_ids(export) == [second.public_id]
    assert stored_files(private_storage / "exports") == [private_storage / export.file_name]


# --- never in an export: flagged, accidental, past retention, erased, purged --------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["flagged", "accidental", "past retention", "erased", "purged"])
def test_a_built_export_leaves_out_a_clip_that_is(what, reviewer, other_reviewer, lead, settings):
    settings.ANNOTATE_RETENTION_DAYS = 30
    queue = make_queue(reviewer)
    second_look = make_queue(other_reviewer, name="Second look")
    (keep,) = reviewed(reviewer, queue, "keep")
    if what == "accidental":
        make_clip("oops")
        review(reviewer, queue, "", accidental=True)
    else:
        (gone,) = reviewed(reviewer, queue, "gone")
        if what == "flagged":
            flag(gone, other_reviewer, second_look)
        elif what == "past retention":
            Clip.objects.filter(pk=gone.pk).update(captured_at=timezone.now() - timedelta(days=31))
        elif what == "erased":
            erase(gone)
        else:
            clip_services.purge_clip(clip=gone, reason="retention")
    assert [final.clip for final in selectors.exportable_finals()] == [keep]
    export = build(lead, "jsonl")
    assert exported_ids(export) == [keep.public_id]
    assert item_ids(export) == {keep.pk}


# --- who reaches an export ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["reviewer", "other_reviewer", "officer", "anonymous", "lead"])
def test_who_reaches_an_exports_status_and_download(
    client, reviewer, other_reviewer, lead, officer, who, django_capture_on_commit_callbacks
):
    music = make_queue(reviewer, name="Music", locales=["en-US"])
    weather = make_queue(reviewer, name="Weather", locales=["en-GB"])
    reviewed(reviewer, music, "play halo")
    (rain,) = reviewed(reviewer, weather, "rain", locale="en-GB")
    expired = build(lead, "nemo", queue=music)
    exports.delete_expired_exports(now=timezone.now() + timedelta(days=8))
    withdrawn = build(lead, "nemo", queue=weather)
    with django_capture_on_commit_callbacks(execute=True):
        erase(rain)
    done = build(lead, "nemo", queue=music)
    persona = {"reviewer": reviewer, "other_reviewer": other_reviewer, "officer": officer, "lead": lead}.get(who)
    as_user(client, persona)
    before = AuditEvent.objects.count()
    for export, state, download in [(done, "done", 200), (expired, "expired", 410), (withdrawn, "withdrawn", 410)]:
        status = client.get(f"/lead/exports/{export.pk}/status")
        response = client.get(f"/lead/exports/{export.pk}/download")
        if who == "lead":
            assert (status.status_code, status.json()["state"], response.status_code) == (200, state, download)
        elif who == "anonymous":
            assert (status.status_code, response.status_code) == (401, 302)
            assert response["Location"].startswith("/login/")
        else:
            assert (status.status_code, response.status_code) == (403, 403)
    downloads = AuditEvent.objects.filter(action="export.download").count()
    assert downloads == (1 if who == "lead" else 0)
    if who != "lead":
        assert AuditEvent.objects.count() == before
