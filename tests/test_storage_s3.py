"""Audio, exports and evidence in an S3-compatible bucket (issue 17): moto's standalone server,
over real HTTP, as the storage a deployment selects with ANNOTATE_S3_* (annotate/settings.py).

The bucket sees only ciphertext; playback, export downloads and erasure work as on the private
folder; reads stream the object's body (no copy of the whole object first).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import storages
from django.test import TestCase
from storages.backends.s3 import S3Storage

from annotate.clips import asr, ingest, vault
from annotate.clips.models import AudioVariant, Clip
from annotate.leads import exports
from annotate.leads.models import Export
from annotate.privacy import services as privacy
from annotate.queues import claims
from annotate.review import selectors as review_selectors
from tests.factories import make_clip, make_queue, reviewed
from tests.support import AUDIO, CANARY, clip_meta

pytestmark = [pytest.mark.s3, pytest.mark.django_db]


def test_the_bucket_holds_only_ciphertext_and_reads_stream(s3_bucket, s3_endpoint, monkeypatch):
    assert isinstance(storages["default"], S3Storage)
    wav = (AUDIO / "timer.wav").read_bytes()
    name, _ = vault.store_audio(public_id="c_0123456789abcdef", wav=wav)
    [(key, body)] = s3_endpoint.objects(s3_bucket).items()
    assert key == name and b"RIFF" not in body and wav[100:140] not in body

    def whole_copy(*args, **kwargs):
        raise AssertionError("Storage.open copies the whole object first; reads must stream")

    monkeypatch.setattr(S3Storage, "open", whole_copy)
    clip = Clip(public_id="c_0123456789abcdef", audio_name=name)
    assert vault.load_audio(clip) == wav
    with pytest.raises(FileNotFoundError):
        vault.open_stored("audio/xx/missing.bin")


def test_ingest_to_playback_and_purge_over_s3(s3_bucket, s3_endpoint, reviewer, client):
    queue = make_queue(reviewer)
    result = ingest.ingest_clip(data=(AUDIO / "timer.ogg").read_bytes(), meta=ingest.parse_meta(clip_meta()))
    asr.transcribe_clip(clip_id=result.clip.pk)  # the Whisper job's service, here
    clip = Clip.objects.get(pk=result.clip.pk)
    assert clip.state == Clip.State.READY
    stored = s3_endpoint.objects(s3_bucket)
    names = {clip.audio_name, *AudioVariant.objects.filter(clip=clip).values_list("audio_name", flat=True)}
    assert set(stored) == names and len(names) >= 2  # the audio and its disguised version
    assert all(b"RIFF" not in body for body in stored.values())
    assert all(CANARY.account_id.encode() not in body for body in stored.values())

    [held] = claims.claim_for_review(user=reviewer, queue_id=queue.pk)
    client.force_login(reviewer)
    url = review_selectors.task_payload(task=held, user=reviewer)["audio_url"]
    full = client.get(url)
    assert full.status_code == 200 and full.content[:4] == b"RIFF"
    part = client.get(url, HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and part.content == full.content[:100]

    from annotate.clips.services import purge_clip

    with TestCase.captureOnCommitCallbacks(execute=True):
        purge_clip(clip=clip, reason="test")
    assert s3_endpoint.objects(s3_bucket) == {}


def test_an_export_is_built_into_the_bucket_and_downloaded_as_a_stream(s3_bucket, s3_endpoint, reviewer, lead, client):
    queue = make_queue(reviewer)
    clip = make_clip("play halo")
    reviewed(reviewer, queue, "play halo")
    from annotate.quality.services import derive_pending

    derive_pending()
    export = exports.build_export(export_id=Export.objects.create(requested_by=lead, format="jsonl").pk)
    export.refresh_from_db()
    sealed = s3_endpoint.objects(s3_bucket)[export.file_name]
    assert sealed[:2] != b"PK" and b"play halo" not in sealed

    client.force_login(lead)
    response = client.get(f"/lead/exports/{export.pk}/download")
    assert response.status_code == 200 and response.streaming
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    record = json.loads(archive.read("transcripts.jsonl"))
    assert record["id"] == clip.public_id and record["text"] == "play halo"


def test_erasure_deletes_every_object_of_the_clip(s3_bucket, s3_endpoint):
    mine, theirs = make_clip("set a timer"), make_clip("call mum")
    keep = {theirs.audio_name, *AudioVariant.objects.filter(clip=theirs).values_list("audio_name", flat=True)}
    with TestCase.captureOnCommitCallbacks(execute=True):
        privacy.erase_clips([mine.pk])
    assert set(s3_endpoint.objects(s3_bucket)) == keep


def test_settings_select_s3_from_the_environment(s3_endpoint):
    """settings.py, in a process of its own: ANNOTATE_S3_* select the bucket, path-style."""
    bucket = s3_endpoint.new_bucket()
    env = {**os.environ, **s3_endpoint.env(bucket), "DJANGO_SETTINGS_MODULE": "annotate.settings"}
    code = (
        "import django; django.setup();"
        "from django.core.files.storage import default_storage as s;"
        "from django.core.files.base import ContentFile;"
        "n = s.save('probe/x.bin', ContentFile(b'sealed'));"
        "print(type(s._wrapped).__name__, s.addressing_style, n, s.open(n).read().decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=django_settings.BASE_DIR, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["S3Storage", "path", "probe/x.bin", "sealed"]
    assert s3_endpoint.objects(bucket) == {"probe/x.bin": b"sealed"}
