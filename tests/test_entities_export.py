"""Exporting entity annotations: one document per clip, from its final text, only the clips
training exports take; JSONL with offsets and catalog ids, spaCy's offsets JSON."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from annotate.catalog.models import Entity
from annotate.catalog.spans import SpanInput
from annotate.clips.models import Clip
from annotate.clips.services import purge_clip
from annotate.escalation.services import FlagInput, flag_clip
from annotate.leads import services as leads
from annotate.queues import claims
from tests.factories import import_entities, make_clip, make_queue, reviewed, seal_canary

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_catalog")]

MB = "dac9949f-167c-554a-9d16-d6ba3fe6efd2"
SHAKE = "Shake It Off by Taylor Swift"


@pytest.fixture
def catalog():
    import_entities(
        {"kind": "artist", "name": "Taylor Swift", "external_ids": {"musicbrainz": MB}, "popularity": 100},
        {"kind": "song", "name": "Shake It Off", "popularity": 95},
    )
    return {"taylor": Entity.objects.get(kind__slug="artist"), "song": Entity.objects.get(kind__slug="song")}


def song(catalog, start: int = 0) -> SpanInput:
    return SpanInput(start, start + 12, "Shake It Off", "song", entity_id=catalog["song"].pk)


def artist(catalog, start: int = 16) -> SpanInput:
    return SpanInput(start, start + 12, "Taylor Swift", "artist", entity_id=catalog["taylor"].pk)


def review(user, queue, text: str = "", spans=(), **fields):
    """The reviewer claims the next clip of the queue and submits `text` with `spans`."""
    return reviewed(user, queue, text, spans=tuple(spans), **fields)[1]


def export(tmp_path, *args) -> tuple[str, list[dict]]:
    out = tmp_path / "entities.jsonl"
    call_command("export_entities", str(out), *args)
    text = out.read_text()
    return text, [json.loads(line) for line in text.splitlines()]


def exported_ids(tmp_path) -> list[str]:
    return [doc["id"] for doc in export(tmp_path)[1]]


def flag(user, second_look, clip: Clip, category: str = "danger_now") -> None:
    """Another reviewer meets the clip in a second queue and flags it."""
    task = claims.claim_next(user=user, queue=second_look)
    while task.clip != clip:  # claims pile up (nothing is submitted) until the one to flag
        task = claims.claim_next(user=user, queue=second_look)
    flag_clip(user=user, flag=FlagInput(task_id=task.pk, category=category))


# --- one document per clip, from the final text ------------------------------------------------------------


def test_jsonl_is_one_document_per_clip_named_by_its_public_id(tmp_path, catalog, reviewer, canary):
    queue = make_queue(reviewer)
    tagged, velvet = make_clip("shake it off my taylor swift"), make_clip("play velvet moonrise")
    for clip in (tagged, velvet):
        seal_canary(clip)
    review(reviewer, queue, SHAKE, [song(catalog), artist(catalog)])
    recheck = SpanInput(5, 20, "Velvet Moonrise", "song", not_in_catalog_name="Velvet Moonrise", needs_recheck=True)
    review(reviewer, queue, "play Velvet Moonrise", [recheck])
    make_clip("only transcribed, never reviewed")

    text, docs = export(tmp_path, "--format", "jsonl")
    assert canary.found_in(text) == []
    assert "rita" not in text and "annotation-" not in text  # no reviewer, no row id
    assert [(d["id"], d["text"]) for d in docs] == [
        (tagged.public_id, SHAKE),
        (velvet.public_id, "play Velvet Moonrise"),
    ]
    first = docs[0]
    assert first["id"].startswith("c_")
    assert set(first) == {"id", "text", "locale", "spans"}
    assert [(s["start"], s["end"], s["kind"], s["entity"]["name"]) for s in first["spans"]] == [
        (0, 12, "song", "Shake It Off"),
        (16, 28, "artist", "Taylor Swift"),
    ]
    assert first["spans"][1]["entity"] == {
        "id": catalog["taylor"].pk,
        "name": "Taylor Swift",
        "external_ids": {"musicbrainz": MB},
    }
    for doc in docs:
        for span in doc["spans"]:
            assert doc["text"][span["start"] : span["end"]] == span["text"]
    (recheck_span,) = docs[1]["spans"]
    assert recheck_span["entity"] is None and recheck_span["not_in_catalog_name"] == "Velvet Moonrise"
    assert recheck_span["needs_recheck"]


def test_an_overlap_clip_reviewed_twice_is_one_document_with_the_final_text(
    tmp_path, catalog, reviewer, other_reviewer
):
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    clip = make_clip("shake it off my taylor swift")
    review(reviewer, queue, SHAKE, [song(catalog), artist(catalog)])
    review(other_reviewer, queue, "shake it off by taylor swift")  # agrees (case aside), tags nothing
    _, docs = export(tmp_path)
    assert [(d["id"], d["text"]) for d in docs] == [(clip.public_id, SHAKE)]  # the consensus: the first text
    assert [s["text"] for s in docs[0]["spans"]] == ["Shake It Off", "Taylor Swift"]  # the final's annotation's


# --- only the clips training exports take -------------------------------------------------------------------


@pytest.mark.parametrize("category", ["danger_now", "distressing"])
def test_a_flagged_clip_is_left_out(tmp_path, catalog, reviewer, other_reviewer, category):
    queue, second_look = make_queue(reviewer), make_queue(other_reviewer, name="Second look")
    kept, flagged = make_clip("play halo"), make_clip("help me")
    review(reviewer, queue, "play halo")
    review(reviewer, queue, "help me")
    flag(other_reviewer, second_look, flagged, category)
    assert exported_ids(tmp_path) == [kept.public_id]


def test_an_accidental_recording_is_left_out_even_when_another_reviewer_transcribed_it(
    tmp_path, catalog, reviewer, other_reviewer
):
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    make_clip("shake it off my taylor swift")
    review(reviewer, queue, SHAKE, [song(catalog)])
    review(other_reviewer, queue, accidental=True)
    assert exported_ids(tmp_path) == []


def test_purged_and_expired_clips_are_left_out(tmp_path, catalog, reviewer, settings):
    settings.ANNOTATE_RETENTION_DAYS = 30
    queue = make_queue(reviewer)
    kept, purged, expired, old_upload = (make_clip(t) for t in ("keep", "purged", "expired", "old upload"))
    for text in ("keep", "purged", "expired", "old upload"):
        review(reviewer, queue, text)
    purge_clip(clip=purged, reason="test")
    Clip.objects.filter(pk=expired.pk).update(captured_at=timezone.now() - timedelta(days=31))
    Clip.objects.filter(pk=old_upload.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert exported_ids(tmp_path) == [kept.public_id]


def test_a_clip_waiting_for_adjudication_is_left_out(tmp_path, catalog, reviewer, other_reviewer):
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    make_clip("play halo")
    review(reviewer, queue, "play halo")
    review(other_reviewer, queue, "play hello by someone else entirely")
    assert exported_ids(tmp_path) == []


# --- which spans when a lead decided the text ----------------------------------------------------------------


@pytest.fixture
def disputed(catalog, reviewer, other_reviewer):
    """An overlap clip the reviewers disagree on, both tagging their own text."""
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    clip = make_clip("shake it off my taylor swift")
    first = review(reviewer, queue, "Shake It Off", [song(catalog)])
    second = review(other_reviewer, queue, "play Shake It Off by Taylor Swift", [song(catalog, 5), artist(catalog, 21)])
    return clip, first, second


def test_an_adjudicated_text_a_reviewer_wrote_takes_that_reviewers_spans(tmp_path, disputed, lead):
    clip, first, second = disputed
    # The lead picked the first reviewer's row but kept the second's text word for word.
    leads.adjudicate(clip=clip, text=second.corrected_text, lead=lead, annotation=first)
    _, docs = export(tmp_path)
    assert [(d["id"], d["text"]) for d in docs] == [(clip.public_id, "play Shake It Off by Taylor Swift")]
    assert [(s["start"], s["text"]) for s in docs[0]["spans"]] == [(5, "Shake It Off"), (21, "Taylor Swift")]


def test_an_adjudicated_text_no_reviewer_wrote_has_no_spans_and_is_counted(tmp_path, disputed, lead, capsys):
    clip, first, _ = disputed
    leads.adjudicate(clip=clip, text="Shake It Off, by Taylor Swift", lead=lead, annotation=first)
    _, docs = export(tmp_path)
    assert docs == [{"id": clip.public_id, "text": "Shake It Off, by Taylor Swift", "locale": "en-US", "spans": None}]
    assert "1 without spans (null): the final text differs from every reviewer's" in capsys.readouterr().err

    call_command("export_entities", str(tmp_path / "train.json"), "--format", "spacy")
    assert json.loads((tmp_path / "train.json").read_text()) == []  # spaCy would read no entities as "none here"
    assert "1 left out (the final text differs from every reviewer's)" in capsys.readouterr().err

    call_command("export_entities", "-", "--only-tagged")
    out, err = capsys.readouterr()
    assert out == "" and "1 left out (the final text differs from every reviewer's)" in err


def test_a_gold_reference_takes_the_spans_of_a_reviewer_who_wrote_it(tmp_path, catalog, reviewer, lead):
    queue = make_queue(reviewer)
    clip = make_clip("shake it off my taylor swift")
    review(reviewer, queue, SHAKE, [artist(catalog)])
    leads.add_gold(queue=queue, clip=clip, reference_text=SHAKE, lead=lead)
    _, docs = export(tmp_path)
    assert [(d["id"], [s["text"] for s in d["spans"]]) for d in docs] == [(clip.public_id, ["Taylor Swift"])]


# --- the command --------------------------------------------------------------------------------------------


def test_jsonl_export_only_tagged_to_stdout(catalog, reviewer, capsys):
    queue = make_queue(reviewer)
    tagged = make_clip("shake it off my taylor swift")
    make_clip("play halo")
    review(reviewer, queue, SHAKE, [song(catalog), artist(catalog)])
    review(reviewer, queue, "play halo")
    call_command("export_entities", "-", "--only-tagged")
    out, err = capsys.readouterr()
    assert [json.loads(line)["id"] for line in out.splitlines()] == [tagged.public_id]
    assert "1 transcripts, 2 spans" in err


def test_spacy_export_is_the_offsets_training_format(tmp_path, catalog, reviewer, canary, capsys):
    queue = make_queue(reviewer)
    for text in ("shake it off my taylor swift", "play velvet moonrise"):
        seal_canary(make_clip(text))
    review(reviewer, queue, SHAKE, [song(catalog), artist(catalog)])
    review(
        reviewer,
        queue,
        "play Velvet Moonrise",
        [SpanInput(5, 20, "Velvet Moonrise", "song", not_in_catalog_name="Velvet Moonrise", needs_recheck=True)],
    )
    out = tmp_path / "train.json"
    call_command("export_entities", str(out), "--format", "spacy")
    text = out.read_text()
    assert canary.found_in(text) == []
    assert json.loads(text) == [[SHAKE, {"entities": [[0, 12, "SONG"], [16, 28, "ARTIST"]]}]]
    assert "1 left out (a span needs a re-check)" in capsys.readouterr().err


def test_export_to_a_missing_folder_fails_clearly(tmp_path):
    with pytest.raises(CommandError, match="its folder does not exist"):
        call_command("export_entities", str(tmp_path / "nope" / "out.jsonl"))


def test_the_written_file_is_for_its_owner_only_and_the_run_is_audited(tmp_path):
    from annotate.audit.models import AuditEvent

    out = tmp_path / "entities.jsonl"
    out.write_text("old")
    out.chmod(0o644)
    call_command("export_entities", str(out), stderr=io.StringIO())
    assert out.stat().st_mode & 0o777 == 0o600 and "old" not in out.read_text()
    assert AuditEvent.objects.filter(action="export.entities").count() == 1
