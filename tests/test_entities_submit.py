"""Entity spans sent with a submit: stored with the annotation, or refused whole with a clear 400."""

from __future__ import annotations

import pytest

from annotate.catalog.models import Entity, EntitySpan
from annotate.queues import claims
from annotate.review.models import Annotation
from tests.factories import import_entities, make_clip, make_queue
from tests.support import post_json

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_catalog")]

TEXT = "Shake It Off by Taylor Swift"


@pytest.fixture
def catalog():
    import_entities(
        {"kind": "artist", "name": "Taylor Swift", "aliases": ["T Swift"], "popularity": 100},
        {"kind": "song", "name": "Shake It Off", "popularity": 95},
        {"kind": "album", "name": "1989", "popularity": 90},
    )
    return {e.name: e for e in Entity.objects.all()}


@pytest.fixture
def held(reviewer, other_reviewer):
    queue = make_queue(reviewer, other_reviewer)
    make_clip("shake it off my taylor swift")
    return claims.claim_next(user=reviewer, queue=queue)


def submit(client, task, text=TEXT, spans=None, key="k1", **extra):
    body = {"idempotency_key": key, "corrected_text": text, "spans": [] if spans is None else spans, **extra}
    return post_json(client, f"/review/api/tasks/{task.pk}/submit", body)


def song_and_artist(catalog, text=TEXT, shift=0):
    return [
        {
            "start": 0 + shift,
            "end": 12 + shift,
            "text": "Shake It Off",
            "kind": "song",
            "entity_id": catalog["Shake It Off"].pk,
            "source": "suggestion",
        },
        {
            "start": 16 + shift,
            "end": 28 + shift,
            "text": "Taylor Swift",
            "kind": "artist",
            "entity_id": catalog["Taylor Swift"].pk,
            "not_in_catalog_name": "",
            "needs_recheck": False,
        },
    ]


def test_spans_are_stored_with_the_annotation(client, reviewer, held, catalog):
    client.force_login(reviewer)
    response = submit(client, held, spans=song_and_artist(catalog))
    assert response.status_code == 201, response.json()
    annotation = Annotation.objects.get(pk=response.json()["annotation_id"])
    spans = list(annotation.spans.select_related("kind", "entity"))
    assert [(s.start, s.end, s.text, s.kind.slug, s.entity.name, s.source) for s in spans] == [
        (0, 12, "Shake It Off", "song", "Shake It Off", "suggestion"),
        (16, 28, "Taylor Swift", "artist", "Taylor Swift", "reviewer"),
    ]
    assert all(annotation.corrected_text[s.start : s.end] == s.text for s in spans)
    assert all(s.created_by == reviewer and not s.needs_recheck for s in spans)


def test_not_in_catalog_and_needs_recheck_are_kept(client, reviewer, held, catalog):
    client.force_login(reviewer)
    text = "play Velvet Moonrise by Taylor Swift"
    spans = [
        {"start": 5, "end": 20, "text": "Velvet Moonrise", "kind": "song", "not_in_catalog_name": "Velvet Moonrise"},
        {
            "start": 24,
            "end": 36,
            "text": "Taylor Swift",
            "kind": "artist",
            "entity_id": catalog["Taylor Swift"].pk,
            "needs_recheck": True,
        },
        {"start": 0, "end": 4, "text": "play", "kind": "other"},
    ]
    assert submit(client, held, text=text, spans=spans).status_code == 201
    stored = {s.text: s for s in EntitySpan.objects.all()}
    assert (
        stored["Velvet Moonrise"].entity is None and stored["Velvet Moonrise"].not_in_catalog_name == "Velvet Moonrise"
    )
    assert stored["Taylor Swift"].needs_recheck is True
    assert stored["play"].kind.slug == "other" and stored["play"].entity is None


def test_offsets_count_from_the_text_as_typed_even_though_it_is_stored_stripped(client, reviewer, held, catalog):
    client.force_login(reviewer)
    response = submit(client, held, text="  " + TEXT + "\n", spans=song_and_artist(catalog, shift=2))
    assert response.status_code == 201
    annotation = Annotation.objects.get()
    assert annotation.corrected_text == TEXT
    assert [(s.start, s.end) for s in annotation.spans.all()] == [(0, 12), (16, 28)]


BAD_SPANS = [
    ("Taylor Swift", "spans must be a list"),
    ([{"start": 0, "end": 12, "text": "Shake It Off"}], "span 1: text and kind must be strings"),
    ([{"start": "0", "end": 12, "text": "Shake It Off", "kind": "song"}], "span 1: start and end must be whole"),
    ([{"start": 0, "end": 99, "text": "Shake It Off", "kind": "song", "entity_id": 1}], "outside the transcript"),
    ([{"start": 0, "end": 5, "text": "Shake It Off", "kind": "song"}], "the transcript has 'Shake' at 0–5"),
    ([{"start": 12, "end": 16, "text": " by ", "kind": "other"}], "must not start or end with a space"),
    ([{"start": 0, "end": 12, "text": "Shake It Off", "kind": "painting"}], "unknown kind 'painting'"),
    ([{"start": 0, "end": 12, "text": "Shake It Off", "kind": "song"}], "is not linked: pick a catalog entry"),
    ([{"start": 0, "end": 12, "text": "Shake It Off", "kind": "song", "entity_id": 999999}], "does not exist"),
    ([{"start": 0, "end": 12, "text": "Shake It Off", "kind": "song", "needs_recheck": "no"}], "needs_recheck must"),
    (
        [
            {"start": 0, "end": 5, "text": "Shake", "kind": "other"},
            {"start": 0, "end": 8, "text": "Shake It", "kind": "other"},
        ],
        "overlaps",
    ),
]


@pytest.mark.parametrize(("spans", "message"), BAD_SPANS)
def test_a_bad_span_refuses_the_whole_submit(client, reviewer, held, catalog, spans, message):
    client.force_login(reviewer)
    response = submit(client, held, spans=spans)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not Annotation.objects.exists() and not EntitySpan.objects.exists()
    held.refresh_from_db()
    assert held.state == "claimed"  # still the reviewer's, to fix and submit again


def test_entity_of_another_kind_is_refused(client, reviewer, held, catalog):
    client.force_login(reviewer)
    spans = [{"start": 16, "end": 28, "text": "Taylor Swift", "kind": "song", "entity_id": catalog["Taylor Swift"].pk}]
    response = submit(client, held, spans=spans)
    assert response.status_code == 400
    assert "'Taylor Swift' is not a song in the catalog" in response.json()["error"]
    assert not Annotation.objects.exists()


def test_a_retried_submit_stores_the_spans_once(client, reviewer, held, catalog):
    client.force_login(reviewer)
    assert submit(client, held, spans=song_and_artist(catalog)).status_code == 201
    assert submit(client, held, spans=song_and_artist(catalog)).status_code == 200
    assert EntitySpan.objects.count() == 2


def test_an_accidental_recording_keeps_no_spans(client, reviewer, held, catalog):
    client.force_login(reviewer)
    response = submit(client, held, spans=song_and_artist(catalog), accidental=True)
    assert response.status_code == 201
    assert not EntitySpan.objects.exists()


def test_spans_cost_three_queries_at_most(client, reviewer, held, catalog):
    """Kinds, entities, one bulk insert: the submit stays cheap."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(reviewer)
    client.get("/")
    with CaptureQueriesContext(connection) as with_spans:
        submit(client, held, spans=song_and_artist(catalog))
    queue = held.queue
    make_clip("another clip")
    other = claims.claim_next(user=reviewer, queue=queue)
    with CaptureQueriesContext(connection) as without:
        submit(client, other, text="another clip", key="k2")
    span_queries = [q["sql"] for q in with_spans.captured_queries if "catalog_" in q["sql"]]
    assert len(span_queries) == 3, span_queries
    assert len(with_spans.captured_queries) <= len(without.captured_queries) + 3
