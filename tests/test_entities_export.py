"""Exporting entity annotations: JSONL with offsets and catalog ids, spaCy's offsets JSON; reviewed clips only."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from annotate.catalog.models import Entity, EntitySpan
from annotate.catalog.spans import SpanInput
from annotate.clips import crypto, vault
from annotate.clips.models import SealedIdentity
from annotate.queues import claims
from annotate.review.services import Submission, submit
from tests.factories import import_entities, make_clip, make_queue

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_catalog")]

MB = "dac9949f-167c-554a-9d16-d6ba3fe6efd2"


@pytest.fixture
def reviewed(reviewer, other_reviewer, canary):
    """Clips sealed with the canary identity, reviewed with spans; one accidental, one only transcribed."""
    import_entities(
        {"kind": "artist", "name": "Taylor Swift", "external_ids": {"musicbrainz": MB}, "popularity": 100},
        {"kind": "song", "name": "Shake It Off", "popularity": 95},
    )
    taylor, song = Entity.objects.get(kind__slug="artist"), Entity.objects.get(kind__slug="song")
    queue = make_queue(reviewer, other_reviewer)
    for _ in range(4):
        clip = make_clip("shake it off my taylor swift")
        SealedIdentity.objects.filter(clip=clip).delete()
        vault.seal_identity(
            clip=clip,
            identity=vault.Identity(canary.account_id, canary.first_name, canary.device_serial),
            account_hash=crypto.lookup_hash(canary.account_id),
        )
    tagged = (
        SpanInput(0, 12, "Shake It Off", "song", entity_id=song.pk),
        SpanInput(16, 28, "Taylor Swift", "artist", entity_id=taylor.pk),
    )
    velvet = SpanInput(5, 20, "Velvet Moonrise", "song", not_in_catalog_name="Velvet Moonrise", needs_recheck=True)
    submissions = [
        Submission(idempotency_key="a", corrected_text="Shake It Off by Taylor Swift", spans=tagged),
        Submission(idempotency_key="b", corrected_text="play Velvet Moonrise", spans=(velvet,)),
        Submission(idempotency_key="c", accidental=True),
    ]
    for submission in submissions:
        task = claims.claim_next(user=reviewer, queue=queue)
        submit(user=reviewer, task_id=task.pk, submission=submission)
    return {"taylor": taylor, "song": song}


def test_jsonl_export(tmp_path, reviewed, canary):
    out = tmp_path / "entities.jsonl"
    call_command("export_entities", str(out), "--format", "jsonl")
    text = out.read_text()
    assert canary.found_in(text) == []
    docs = [json.loads(line) for line in text.splitlines()]
    assert [d["text"] for d in docs] == ["Shake It Off by Taylor Swift", "play Velvet Moonrise"]  # reviewed only
    first = docs[0]
    assert set(first) == {"id", "text", "locale", "spans"}
    assert [
        (s["start"], s["end"], s["kind"], s["entity"]["name"] if s["entity"] else None) for s in first["spans"]
    ] == [
        (0, 12, "song", "Shake It Off"),
        (16, 28, "artist", "Taylor Swift"),
    ]
    assert first["spans"][1]["entity"] == {
        "id": reviewed["taylor"].pk,
        "name": "Taylor Swift",
        "external_ids": {"musicbrainz": MB},
    }
    for doc in docs:
        for span in doc["spans"]:
            assert doc["text"][span["start"] : span["end"]] == span["text"]
    velvet = docs[1]["spans"][0]
    assert velvet["entity"] is None and velvet["not_in_catalog_name"] == "Velvet Moonrise" and velvet["needs_recheck"]


def test_jsonl_export_only_tagged_to_stdout(reviewed, capsys):
    EntitySpan.objects.filter(text="Velvet Moonrise").delete()
    call_command("export_entities", "-", "--only-tagged")
    out, err = capsys.readouterr()
    assert [json.loads(line)["text"] for line in out.splitlines()] == ["Shake It Off by Taylor Swift"]
    assert "1 transcripts, 2 spans" in err


def test_spacy_export_is_the_offsets_training_format(tmp_path, reviewed, canary, capsys):
    out = tmp_path / "train.json"
    call_command("export_entities", str(out), "--format", "spacy")
    text = out.read_text()
    assert canary.found_in(text) == []
    assert json.loads(text) == [["Shake It Off by Taylor Swift", {"entities": [[0, 12, "SONG"], [16, 28, "ARTIST"]]}]]
    assert "1 left out (a span needs a re-check)" in capsys.readouterr().err


def test_export_to_a_missing_folder_fails_clearly(tmp_path):
    with pytest.raises(CommandError, match="its folder does not exist"):
        call_command("export_entities", str(tmp_path / "nope" / "out.jsonl"))
