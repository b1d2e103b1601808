"""The ingest API (POST /api/v1/clips): the upstream pipeline's door into ingest.

Same service as `import_clips`; an HTTP status for every outcome, never a 5xx
for bad input, never an identifier of the recorded person in a response.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotate.accounts.models import ApiToken
from annotate.audit.models import AuditEvent
from annotate.clips.models import Clip, IngestCount, SealedIdentity
from tests.support import AUDIO, CANARY, stored_files

pytestmark = pytest.mark.django_db

URL = "/api/v1/clips"


def audio_file(name: str = "timer.ogg", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (AUDIO / name).read_bytes() if data is None else data)


def form(**overrides) -> dict:
    """The manifest fields as form fields, with the canary identity."""
    fields = {k: ("true" if v is True else "false" if v is False else v) for k, v in CANARY.meta().items()}
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def post(client, token: str | None, *, upload: str | None = "timer.ogg", **data):
    """POST the fixture recording `upload` as the `audio` file, with form fields `data`."""
    payload = dict(data)
    if upload is not None:
        payload["audio"] = audio_file(upload)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(URL, payload, **headers)


def assert_no_identity(response) -> None:
    assert CANARY.found_in(response.content) == []


def assert_nothing_stored(storage: Path) -> None:
    assert not Clip.objects.exists()
    assert not SealedIdentity.objects.exists()
    assert stored_files(storage) == []


# --- success ---------------------------------------------------------------------------------


def test_upload_with_form_fields_creates_a_clip(client, ingest_client, private_storage):
    user, token = ingest_client

    response = post(client, token, **form())

    assert response.status_code == 201
    body = response.json()
    clip = Clip.objects.get()
    assert body == {
        "outcome": "imported",
        "message": f"imported as clip {clip.public_id} (2.2 s)",
        "clip": {"public_id": clip.public_id, "state": "pending_asr"},
    }
    assert (clip.locale, clip.device_type, clip.intent, clip.wake_word_score) == ("en-US", "speaker", "SetTimer", 0.91)
    assert SealedIdentity.objects.filter(clip=clip).exists()
    assert len(stored_files(private_storage)) == 1
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.clip_public_id) == ("ingest.imported", user, clip.public_id)
    assert ApiToken.objects.get(user=user).last_used_at is not None
    assert_no_identity(response)


def test_upload_with_a_metadata_json_field(client, ingest_client):
    _, token = ingest_client

    response = post(client, token, upload="timer.flac", metadata=json.dumps(CANARY.meta()))

    assert response.status_code == 201
    assert response.json()["clip"]["public_id"] == Clip.objects.get().public_id
    assert_no_identity(response)


def test_duplicate_upload_is_409_with_the_existing_clip(client, ingest_client, private_storage):
    _, token = ingest_client
    first = post(client, token, **form())

    response = post(client, token, **form(account_id="ACCT-SOMEONE-ELSE"))

    public_id = first.json()["clip"]["public_id"]
    assert response.status_code == 409
    assert response.json() == {
        "outcome": "duplicate",
        "message": f"already imported as clip {public_id}",
        "error": f"already imported as clip {public_id}",
    }
    assert Clip.objects.count() == 1 and len(stored_files(private_storage)) == 1


def test_opted_out_subject_is_answered_but_not_stored(client, ingest_client, private_storage):
    _, token = ingest_client

    response = post(client, token, **form(opted_out="true"))
    again = post(client, token, upload="timer.mp3", **form())  # same subject, later clip

    for answer in (response, again):
        assert answer.status_code == 200
        assert answer.json() == {
            "outcome": "opted_out",
            "message": "the subject opted out: not stored (counted only)",
        }
        assert_no_identity(answer)
    assert_nothing_stored(private_storage)
    assert IngestCount.objects.get(outcome="opted_out").count == 2


# --- authentication and authorisation ---------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer ",
        "Bearer ann_not-a-real-token",
        "Token {token}",
        "{token}",
    ],
    ids=["no-header", "empty-bearer", "unknown-token", "wrong-scheme", "no-scheme"],
)
def test_missing_or_invalid_token_is_401(client, ingest_client, header, private_storage):
    _, token = ingest_client
    headers = {"HTTP_AUTHORIZATION": header.format(token=token)} if header else {}

    response = client.post(URL, {"audio": audio_file(), **form()}, **headers)

    assert response.status_code == 401
    assert response.json() == {
        "outcome": "rejected",
        "error": "missing or invalid API token (Authorization: Bearer <token>)",
        "code": "unauthorized",
    }
    assert_nothing_stored(private_storage)


def test_revoked_token_is_401(client, ingest_client):
    user, token = ingest_client
    ApiToken.objects.filter(user=user).update(revoked=True)

    assert post(client, token, **form()).status_code == 401


def test_token_of_an_inactive_user_is_401(client, ingest_client):
    user, token = ingest_client
    user.is_active = False
    user.save()

    assert post(client, token, **form()).status_code == 401


@pytest.mark.parametrize("persona", ["outsider", "reviewer", "lead"])
def test_token_of_a_user_not_in_ingest_is_403(client, persona, request, private_storage):
    user = request.getfixturevalue(persona)
    _, token = ApiToken.issue(user=user, name="not a pipeline")

    response = post(client, token, **form())

    assert response.status_code == 403
    assert response.json() == {"outcome": "rejected", "error": "this account may not ingest clips", "code": "forbidden"}
    assert_nothing_stored(private_storage)


def test_get_is_405(client, ingest_client):
    _, token = ingest_client

    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 405


def test_a_session_login_is_not_enough(client, admin_user):
    client.force_login(admin_user)

    assert post(client, None, **form()).status_code == 401


# --- bad input: a clear 4xx, never a 5xx, nothing stored ------------------------------------------


BAD_REQUESTS = [
    # (audio file, form fields, status, error)
    pytest.param(None, form(), 400, "missing file field: audio", id="no-audio"),
    pytest.param(None, form(audio="not a file"), 400, "missing file field: audio", id="audio-as-text"),
    pytest.param("timer.ogg", form(locale=None), 400, "missing field(s): locale", id="missing-locale"),
    pytest.param("timer.ogg", form(captured_at=""), 400, "missing field(s): captured_at", id="empty-captured-at"),
    pytest.param("timer.ogg", {}, 400, "missing field(s): captured_at, locale, device_type, account_id", id="no-meta"),
    pytest.param("timer.ogg", form(colour="red"), 400, "unknown field(s): colour", id="unknown-field"),
    pytest.param(
        "timer.ogg",
        form(wake_word_score="high"),
        400,
        "field wake_word_score must be a number, not 'high'",
        id="score-not-a-number",
    ),
    pytest.param(
        "timer.ogg", form(wake_word_score="nan"), 400, "field wake_word_score must be between 0 and 1", id="score-nan"
    ),
    pytest.param(
        "timer.ogg", form(wake_word_score="inf"), 400, "field wake_word_score must be between 0 and 1", id="score-inf"
    ),
    pytest.param(
        "timer.ogg", form(opted_out="maybe"), 400, "field opted_out must be true or false, not 'maybe'", id="opt-out"
    ),
    pytest.param(
        "timer.ogg",
        form(captured_at="last tuesday"),
        400,
        "field captured_at must be an ISO 8601 date and time, e.g. 2026-11-20T14:03:11+00:00",
        id="captured-at-words",
    ),
    pytest.param(
        "timer.ogg",
        form(captured_at="2026-02-30T10:00:00+00:00"),
        400,
        "field captured_at must be an ISO 8601 date and time, e.g. 2026-11-20T14:03:11+00:00",
        id="captured-at-feb-30",
    ),
    pytest.param(
        "timer.ogg",
        form(captured_at="2026-11-20T10:00:00+99:00"),
        400,
        "field captured_at must be an ISO 8601 date and time, e.g. 2026-11-20T14:03:11+00:00",
        id="captured-at-bad-offset",
    ),
    pytest.param(
        "timer.ogg",
        form(captured_at="2026-11-20T10:00:00"),
        400,
        "field captured_at needs a time zone, e.g. +00:00",
        id="captured-at-naive",
    ),
    pytest.param(
        "timer.ogg", form(device_type="d" * 33), 400, "field device_type is longer than 32 characters", id="long-device"
    ),
    pytest.param(
        "timer.ogg",
        {"metadata": '{"locale": "en-US",'},
        400,
        "metadata is not valid JSON (Expecting property name enclosed in double quotes)",
        id="bad-json",
    ),
    pytest.param("timer.ogg", {"metadata": ""}, 400, "metadata is not valid JSON (Expecting value)", id="empty-json"),
    pytest.param("timer.ogg", {"metadata": "[1, 2]"}, 400, "expected a JSON object", id="json-list"),
    pytest.param("timer.ogg", {"metadata": "null"}, 400, "expected a JSON object", id="json-null"),
    pytest.param(
        "timer.ogg",
        {"metadata": json.dumps(CANARY.meta(wake_word_score="0.5"))},
        400,
        "field wake_word_score must be a number, not str",
        id="json-wrong-type",
    ),
    pytest.param(
        "timer.ogg",
        {"metadata": json.dumps(CANARY.meta(locale=["en-US"]))},
        400,
        "field locale must be a string, not list",
        id="json-locale-list",
    ),
    pytest.param(
        "timer.ogg",
        {"metadata": json.dumps(CANARY.meta(captured_at=1700000000))},
        400,
        "field captured_at must be a string, not int",
        id="json-captured-at-number",
    ),
    pytest.param(
        "not_audio.wav", form(), 422, "not an audio file (no known audio format could read it)", id="not-audio"
    ),
    pytest.param("empty.wav", form(), 422, "the file is empty", id="empty"),
    pytest.param("silence.wav", form(), 422, "the clip is silent", id="silent"),
    pytest.param("long.wav", form(), 422, "the clip is 70.0 s, longer than the 60 s limit", id="too-long"),
    pytest.param(
        "truncated.wav",
        form(),
        422,
        "the file is truncated: it declares 2.2 s but only 0.9 s are present",
        id="truncated-wav",
    ),
    pytest.param(
        "truncated.ogg", form(), 422, "the file is truncated (it ends before its audio starts)", id="truncated-ogg"
    ),
    pytest.param(
        "truncated.flac", form(), 422, "the file is truncated (decoding stopped part-way)", id="truncated-flac"
    ),
]


@pytest.mark.parametrize(("audio", "fields", "status", "error"), BAD_REQUESTS)
def test_bad_input_gets_a_clear_4xx_and_stores_nothing(
    client, ingest_client, audio, fields, status, error, private_storage
):
    _, token = ingest_client

    response = post(client, token, upload=audio, **fields)

    assert response.status_code == status
    body = response.json()
    assert body["outcome"] == "rejected"
    assert body["error"] == error
    assert_no_identity(response)
    assert_nothing_stored(private_storage)


def test_file_over_the_size_limit_is_413(client, ingest_client, settings, private_storage):
    settings.ANNOTATE_MAX_UPLOAD_BYTES = 100_000  # stereo44k.wav is 176 kB
    _, token = ingest_client

    response = post(client, token, upload="stereo44k.wav", **form())

    assert response.status_code == 413
    assert response.json() == {
        "outcome": "rejected",
        "error": "the file is 0.2 MB, over the 0.1 MB limit",
        "code": "too_large",
    }
    assert_nothing_stored(private_storage)


def test_a_non_multipart_body_is_400(client, ingest_client):
    _, token = ingest_client

    response = client.post(
        URL, json.dumps(CANARY.meta()), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "missing file field: audio"
    assert_no_identity(response)


def test_rejections_are_audited_without_identity(client, ingest_client):
    user, token = ingest_client

    post(client, token, upload="silence.wav", **form())

    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.clip_public_id) == ("ingest.rejected", user, "")
    assert CANARY.found_in(json.dumps([event.target, event.details])) == []
