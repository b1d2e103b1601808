"""The recorded person's identity never leaks.

A canary account id, first name and device serial go in through the manifest
and the API; they must come out only by unsealing, never in a clip, transcript,
task, audit row, log line, command output, stored blob or admin page.
"""

from __future__ import annotations

import io
import json
import logging
import shutil

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from annotate.audit.models import AuditEvent
from annotate.clips import asr, ingest, vault
from annotate.clips.models import Clip, IngestCount, MachineTranscript, OptOut, SealedIdentity
from annotate.queues.models import Queue, Task
from tests.support import AUDIO, CANARY, make_user, stored_files, write_manifest

pytestmark = pytest.mark.django_db

FAKE_WHISPER = {
    "text": "set a timer for ten minutes",
    "segments": [{"start": 0.0, "end": 2.2, "text": "set a timer for ten minutes"}],
    "words": [{"word": "set", "start": 0.0, "end": 0.3, "probability": 0.9}],
    "language": "en",
    "decoding": "single",
    "window_clips": 1,
}


def row_text(obj) -> str:
    """Every concrete field of a model row (binary as latin-1), its repr and str, as text."""
    values = {}
    for field in obj._meta.concrete_fields:
        value = field.value_from_object(obj)
        if isinstance(value, bytes | memoryview):
            value = bytes(value).decode("latin-1")
        values[field.name] = value
    return json.dumps(values, default=str, ensure_ascii=False) + repr(obj) + str(obj)


@pytest.fixture
def canary_import(import_dir, caplog, monkeypatch):
    """Import a manifest full of canary identities: good, rejected and opted-out lines.

    Returns (command output, log text). Whisper itself is replaced by a fixed
    answer (it lies outside the product); storing its result is the real code.
    """
    Queue.objects.create(name="everything")
    for name in [None, *logging.root.manager.loggerDict]:
        caplog.set_level(logging.DEBUG, logger=name)
    monkeypatch.setattr(asr, "transcribe_samples", lambda samples: FAKE_WHISPER)
    monkeypatch.setattr(
        asr,
        "transcribe_packed",
        lambda clips: [{**FAKE_WHISPER, "decoding": "packed", "window_clips": len(clips)}] * len(clips),
    )
    manifest = write_manifest(
        import_dir / "manifest.jsonl",
        [
            {"audio": "timer.ogg", **CANARY.meta()},
            {"audio": "silence.wav", **CANARY.meta()},
            {"audio": "timer.mp3", **CANARY.meta(captured_at="2026-02-30T00:00:00+00:00")},
            '{"audio": "timer.flac", "account_id": "' + CANARY.account_id + '", "first_name": ',
            {"audio": "timer.m4a", **CANARY.meta(account_id="ACCT-CANARY-OUT", opted_out=True)},
            {"audio": "timer.wav", **CANARY.meta(account_id="ACCT-CANARY-OUT")},
        ],
    )
    out = io.StringIO()
    connection.force_debug_cursor = True  # log every SQL statement and its parameters too
    try:
        with pytest.raises(CommandError) as failed:
            call_command("import_clips", str(manifest), stdout=out, no_color=True)
        clip = Clip.objects.get()
        asr.transcribe_clip(clip_id=clip.pk)
    finally:
        connection.force_debug_cursor = False
    return out.getvalue() + str(failed.value), caplog.text


@pytest.fixture
def import_dir(tmp_path):
    folder = tmp_path / "import"
    shutil.copytree(AUDIO, folder)
    return folder


def test_canary_import_did_what_the_test_relies_on(canary_import):
    output, log_text = canary_import

    assert "summary: 1 imported, 0 duplicate, 2 opted out, 3 rejected" in output
    assert "imported clip c_" in log_text
    assert "INSERT INTO" in log_text  # SQL is in the captured log
    assert MachineTranscript.objects.get().text == FAKE_WHISPER["text"]
    assert Task.objects.count() == 1 and OptOut.objects.count() == 1


def test_no_identity_in_rows(canary_import):
    rows = [
        *Clip.objects.all(),
        *MachineTranscript.objects.all(),
        *Task.objects.all(),
        *AuditEvent.objects.all(),
        *OptOut.objects.all(),
        *IngestCount.objects.all(),
        *SealedIdentity.objects.all(),
    ]
    assert len(rows) >= 5
    for row in rows:
        assert CANARY.found_in(row_text(row)) == [], row
        assert "ACCT-CANARY-OUT".lower() not in row_text(row).lower()


def test_no_identity_in_the_sealed_ciphertext_or_the_stored_audio(canary_import, private_storage):
    sealed = SealedIdentity.objects.get()

    assert CANARY.found_in(bytes(sealed.ciphertext)) == []
    assert sealed.account_hash and CANARY.account_id not in sealed.account_hash
    for path in stored_files(private_storage):
        assert CANARY.found_in(path.read_bytes()) == []
        assert CANARY.found_in(str(path)) == []


def test_no_identity_in_logs_or_command_output(canary_import):
    output, log_text = canary_import

    assert CANARY.found_in(output) == []
    assert CANARY.found_in(log_text) == []
    assert "ACCT-CANARY-OUT" not in output + log_text


def test_unsealing_round_trips_the_identity(canary_import):
    sealed = SealedIdentity.objects.get()

    assert vault.unseal_identity(sealed) == vault.Identity(
        account_id=CANARY.account_id, first_name=CANARY.first_name, device_serial=CANARY.device_serial
    )


def test_metadata_never_prints_identity():
    meta = ingest.parse_meta(CANARY.meta())

    assert CANARY.found_in(repr(meta)) == []
    assert CANARY.found_in(str(meta)) == []
    assert CANARY.found_in(f"{meta}") == []


def test_no_identity_in_api_audit_rows(client, ingest_client):
    _, token = ingest_client
    for name in ("timer.ogg", "silence.wav", "timer.ogg"):
        with (AUDIO / name).open("rb") as fh:
            client.post("/api/v1/clips", {"audio": fh, **CANARY.meta()}, HTTP_AUTHORIZATION=f"Bearer {token}")

    events = list(AuditEvent.objects.all())
    assert {e.action for e in events} == {"ingest.imported", "ingest.rejected", "ingest.duplicate"}
    for event in events:
        assert CANARY.found_in(row_text(event)) == []


# --- the Django admin -------------------------------------------------------------------------------


ADMIN_ONLY = {SealedIdentity, OptOut}


@pytest.fixture
def staff_with_all_permissions(db):
    """A staff account holding every Django permission, but not in the admin group."""
    user = make_user("stan", is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    return user


def admin_urls():
    """(model, changelist url, change url of its first row or None) for every registered model.

    Unmanaged models (django-rq's dashboard, a Redis page with no table) are left out.
    """
    for model in admin.site._registry:
        if not model._meta.managed:
            continue
        info = (model._meta.app_label, model._meta.model_name)
        first = model._default_manager.order_by("pk").first()
        change = reverse("admin:{}_{}_change".format(*info), args=[first.pk]) if first else None
        yield model, reverse("admin:{}_{}_changelist".format(*info)), change


def test_staff_without_admin_role_sees_no_identity_and_no_sealed_records(
    client, canary_import, staff_with_all_permissions
):
    client.force_login(staff_with_all_permissions)
    visible = set()

    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert CANARY.found_in(index.content) == []
    assert b"Sealed identities" not in index.content and b"Opt outs" not in index.content

    for model, changelist, change in admin_urls():
        for url in filter(None, [changelist, change]):
            response = client.get(url)
            if model in ADMIN_ONLY:
                assert response.status_code in (403, 404), url
            else:  # other apps may keep their own pages to admins too
                assert response.status_code in (200, 403), url
                if response.status_code == 200:
                    visible.add(model)
            assert CANARY.found_in(response.content) == [], url
    assert {Clip, MachineTranscript, Task, AuditEvent, IngestCount} <= visible  # really looked at


def test_staff_without_admin_role_cannot_delete_a_sealed_identity(client, canary_import, staff_with_all_permissions):
    client.force_login(staff_with_all_permissions)
    sealed = SealedIdentity.objects.get()

    response = client.post(reverse("admin:clips_sealedidentity_delete", args=[sealed.pk]), {"post": "yes"})

    assert response.status_code in (403, 404)
    assert SealedIdentity.objects.filter(pk=sealed.pk).exists()


def test_admin_sees_sealed_identities_without_plain_values(client, canary_import, admin_user):
    client.force_login(admin_user)
    sealed = SealedIdentity.objects.get()

    changelist = client.get(reverse("admin:clips_sealedidentity_changelist"))
    change = client.get(reverse("admin:clips_sealedidentity_change", args=[sealed.pk]))

    assert changelist.status_code == 200 and change.status_code == 200
    assert sealed.clip.public_id.encode() in changelist.content
    opt_outs = client.get(reverse("admin:clips_optout_changelist"))
    assert opt_outs.status_code == 200
    for response in (changelist, change, opt_outs):
        assert CANARY.found_in(response.content) == []
        assert sealed.account_hash.encode() not in response.content
        assert OptOut.objects.get().account_hash.encode() not in response.content  # only a short prefix is shown


def test_clip_admin_search_for_an_account_id_finds_nothing(client, canary_import, admin_user):
    client.force_login(admin_user)

    response = client.get(reverse("admin:clips_clip_changelist"), {"q": CANARY.account_id})

    assert response.status_code == 200
    assert Clip.objects.get().public_id.encode() not in response.content
