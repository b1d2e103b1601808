"""Utterance mining: leads find a phrase in transcripts and bulk-tag it; audited, undoable; nobody else may."""

from __future__ import annotations

import json

import pytest

from annotate.audit.models import AuditEvent
from annotate.catalog.models import Entity, EntitySpan, MiningBatch
from annotate.clips.models import MachineTranscript
from annotate.queues import claims
from annotate.review.models import Annotation
from annotate.review.services import Submission, submit
from tests.factories import import_entities, make_clip, make_queue
from tests.support import post_json

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_catalog")]


@pytest.fixture
def catalog():
    import_entities(
        {"kind": "artist", "name": "Taylor Swift", "popularity": 100},
        {"kind": "artist", "name": "Beyoncé", "aliases": ["Beyonce"], "popularity": 100},
        {"kind": "song", "name": "Shake It Off", "popularity": 95},
    )
    return {e.name: e for e in Entity.objects.all()}


@pytest.fixture
def transcripts(reviewer, other_reviewer):
    """Two reviewed clips and one only machine-transcribed, all saying Taylor Swift in some form."""
    queue = make_queue(reviewer, other_reviewer)
    texts = [
        ("shake it off my taylor swift", "Shake It Off by Taylor Swift"),
        ("play beyonce", "Play BEYONCÉ, then Taylor Swift"),
    ]
    for n, (whisper, corrected) in enumerate(texts):
        make_clip(whisper)
        task = claims.claim_next(user=reviewer, queue=queue)
        submit(user=reviewer, task_id=task.pk, submission=Submission(idempotency_key=f"k{n}", corrected_text=corrected))
    make_clip("is TAYLOR swift on tour")
    return queue


def get(client, url, **params):
    return client.get(url, params)


def mine(client, q, **params):
    return client.get("/catalog/api/mine", {"q": q, **params})


# --- who may mine ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "page", "api"),
    [
        ("reviewer", 403, 403),
        ("other_reviewer", 403, 403),
        ("lead", 200, 200),
        ("officer", 403, 403),
        ("outsider", 403, 403),
        ("anonymous", 302, 401),
    ],
)
def test_only_leads_mine(client, request, transcripts, catalog, who, page, api):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    response = client.get("/catalog/mine/")
    assert response.status_code == page
    if page == 302:
        assert response["Location"].startswith("/login/")
    assert mine(client, "taylor swift").status_code == api
    match = {"source": "reviewed", "id": Annotation.objects.first().pk, "start": 16, "end": 28}
    body = {"phrase": "taylor swift", "matches": [match], "kind": "artist", "entity_id": catalog["Taylor Swift"].pk}
    assert post_json(client, "/catalog/api/mine/apply", body).status_code == (201 if api == 200 else api)
    assert client.get("/catalog/api/mine/batches").status_code == api
    batch = MiningBatch.objects.first()
    if batch is None:
        assert not EntitySpan.objects.exists()
        batch = MiningBatch.objects.create(
            created_by=request.getfixturevalue("lead"), phrase="x", kind=catalog["Taylor Swift"].kind
        )
    assert client.post(f"/catalog/api/mine/batches/{batch.pk}/undo").status_code == api


# --- searching -----------------------------------------------------------------------------------


def test_search_is_accent_and_case_insensitive_across_both_sources(client, lead, transcripts):
    client.force_login(lead)
    data = mine(client, "Taylor Swift").json()
    assert data["total"] == 4
    found = [(m["source"], m["match"]) for m in data["matches"]]
    assert sorted(found) == [
        ("machine", "TAYLOR swift"),
        ("machine", "taylor swift"),
        ("reviewed", "Taylor Swift"),
        ("reviewed", "Taylor Swift"),
    ]
    beyonce = mine(client, "beyonce", source="reviewed").json()
    assert [(m["before"], m["match"], m["after"]) for m in beyonce["matches"]] == [
        ("Play ", "BEYONCÉ", ", then Taylor Swift")
    ]


def test_matches_are_text_only(client, lead, transcripts):
    client.force_login(lead)
    body = mine(client, "taylor swift").content.decode()
    match = json.loads(body)["matches"][0]
    assert set(match) == {"source", "id", "start", "end", "before", "match", "after", "tagged"}
    for transcript in MachineTranscript.objects.select_related("clip"):
        assert transcript.clip.public_id not in body
    assert "audio" not in body


def test_searches_are_paged_windowed_and_audited(client, lead, transcripts, settings):
    client.force_login(lead)
    first = mine(client, "taylor swift", per_page=3).json()
    second = mine(client, "taylor swift", per_page=3, page=2).json()
    assert (first["pages"], len(first["matches"]), len(second["matches"])) == (2, 3, 1)
    assert first["truncated"] is False
    events = AuditEvent.objects.filter(action="catalog.mine.search")
    assert [(e.actor, e.details["phrase"], e.details["total"]) for e in events] == [(lead, "taylor swift", 4)]
    settings.ANNOTATE_MINING_WINDOW = 1
    narrow = mine(client, "taylor swift").json()
    assert narrow["truncated"] is True and narrow["total"] == 2  # the newest of each source only


def test_a_too_short_phrase_or_bad_source_is_refused(client, lead):
    client.force_login(lead)
    assert mine(client, "a").status_code == 400
    assert mine(client, "taylor", source="everything").status_code == 400
    assert mine(client, "taylor", page="two").status_code == 400


# --- bulk apply and undo -------------------------------------------------------------------------------


def test_bulk_apply_tags_the_chosen_matches_and_undo_removes_them(client, lead, transcripts, catalog):
    client.force_login(lead)
    matches = mine(client, "taylor swift").json()["matches"]
    chosen = [m for m in matches if m["match"] != "TAYLOR swift"]  # the lead leaves one out
    body = {
        "phrase": "taylor swift",
        "matches": [{k: m[k] for k in ("source", "id", "start", "end")} for m in chosen],
        "kind": "artist",
        "entity_id": catalog["Taylor Swift"].pk,
    }
    response = post_json(client, "/catalog/api/mine/apply", body)
    assert response.status_code == 201
    assert response.json()["created"] == 3 and response.json()["skipped"] == 0
    spans = list(EntitySpan.objects.select_related("annotation", "transcript"))
    assert len(spans) == 3
    for span in spans:
        text = span.annotation.corrected_text if span.annotation else span.transcript.text
        assert text[span.start : span.end] == span.text
        assert span.entity == catalog["Taylor Swift"] and span.source == "mining" and span.created_by == lead
    batch = MiningBatch.objects.get()
    apply_event = AuditEvent.objects.get(action="catalog.mine.apply")
    assert apply_event.actor == lead and apply_event.details["created"] == 3
    assert apply_event.details["batch"] == batch.pk and apply_event.details["entity_id"] == catalog["Taylor Swift"].pk

    # the matches now show what is tagged
    tagged = [m for m in mine(client, "taylor swift").json()["matches"] if m["tagged"]]
    assert len(tagged) == 3 and tagged[0]["tagged"][0]["entity"]["name"] == "Taylor Swift"

    undo = client.post(f"/catalog/api/mine/batches/{batch.pk}/undo")
    assert undo.status_code == 200 and undo.json()["removed"] == 3
    assert not EntitySpan.objects.exists()
    batch.refresh_from_db()
    assert batch.undone_at is not None and batch.undone_by == lead
    undo_event = AuditEvent.objects.get(action="catalog.mine.undo")
    assert undo_event.details == {"batch": batch.pk, "phrase": "taylor swift", "removed": 3}
    assert client.post(f"/catalog/api/mine/batches/{batch.pk}/undo").status_code == 409
    assert client.post("/catalog/api/mine/batches/999999/undo").status_code == 404
    listed = client.get("/catalog/api/mine/batches").json()["batches"]
    assert listed[0]["id"] == batch.pk and listed[0]["undone_by"] == lead.username


def test_undo_leaves_the_reviewers_own_spans(client, lead, reviewer, transcripts, catalog):
    annotation = Annotation.objects.get(corrected_text="Shake It Off by Taylor Swift")
    EntitySpan.objects.create(
        annotation=annotation, start=0, end=12, text="Shake It Off", kind=catalog["Shake It Off"].kind,
        entity=catalog["Shake It Off"], created_by=reviewer,
    )  # fmt: skip
    client.force_login(lead)
    match = next(m for m in mine(client, "taylor swift").json()["matches"] if m["id"] == annotation.pk)
    body = {"phrase": "taylor swift", "matches": [match], "kind": "artist", "entity_id": catalog["Taylor Swift"].pk}
    batch_id = post_json(client, "/catalog/api/mine/apply", body).json()["batch_id"]
    client.post(f"/catalog/api/mine/batches/{batch_id}/undo")
    assert [s.text for s in EntitySpan.objects.all()] == ["Shake It Off"]


def test_matches_already_tagged_are_skipped(client, lead, transcripts, catalog):
    client.force_login(lead)
    matches = [{k: m[k] for k in ("source", "id", "start", "end")} for m in mine(client, "swift").json()["matches"]]
    body = {"phrase": "swift", "matches": matches[:1], "kind": "other"}
    assert post_json(client, "/catalog/api/mine/apply", body).json()["created"] == 1
    body = {"phrase": "taylor swift", "kind": "artist", "entity_id": catalog["Taylor Swift"].pk}
    body["matches"] = [
        {k: m[k] for k in ("source", "id", "start", "end")} for m in mine(client, "taylor swift").json()["matches"]
    ]
    result = post_json(client, "/catalog/api/mine/apply", body).json()
    assert (result["created"], result["skipped"]) == (3, 1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "painting"}, "unknown kind"),
        ({"entity_id": None}, "pick a catalog entry, or give a not-in-catalog name"),
        ({"kind": "song"}, "'Taylor Swift' is not a song in the catalog"),
        ({"kind": "other"}, "spans are not linked to the catalog"),
        ({"matches": []}, "choose at least one match"),
        ({"phrase": "beyonce"}, "the text there is no longer 'beyonce'"),
        ({"shift": 1}, "the text there is no longer"),
        ({"matches": [{"source": "audio", "id": 1, "start": 0, "end": 1}]}, "must be {source"),
    ],
)
def test_a_bad_bulk_apply_stores_nothing(client, lead, transcripts, catalog, change, message):
    client.force_login(lead)
    match = {
        k: v
        for k, v in mine(client, "taylor swift").json()["matches"][0].items()
        if k in ("source", "id", "start", "end")
    }
    if change.pop("shift", None):
        match = {**match, "start": match["start"] + 1, "end": match["end"] + 1}
    body = {"phrase": "taylor swift", "matches": [match], "kind": "artist", "entity_id": catalog["Taylor Swift"].pk}
    response = post_json(client, "/catalog/api/mine/apply", {**body, **change})
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not EntitySpan.objects.exists() and not MiningBatch.objects.exists()
    assert not AuditEvent.objects.filter(action="catalog.mine.apply").exists()


def test_not_in_catalog_bulk_apply(client, lead, transcripts):
    client.force_login(lead)
    matches = [
        {k: m[k] for k in ("source", "id", "start", "end")} for m in mine(client, "shake it off").json()["matches"]
    ]
    body = {"phrase": "shake it off", "matches": matches, "kind": "song", "not_in_catalog_name": "Shake It Off"}
    assert post_json(client, "/catalog/api/mine/apply", body).json()["created"] == 2
    assert {(s.entity_id, s.not_in_catalog_name) for s in EntitySpan.objects.all()} == {(None, "Shake It Off")}


def test_mining_page_renders_the_kinds(client, lead):
    client.force_login(lead)
    page = client.get("/catalog/mine/").content.decode()
    assert 'id="mine-state"' in page and "podcast / audiobook" in page and "catalog/mine.js" in page
