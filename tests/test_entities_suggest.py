"""Suggested spans: where the corrected text is exactly a catalog name or alias, and the words around say so."""

from __future__ import annotations

import json

import pytest

from annotate.catalog import selectors
from annotate.catalog.normalize import find_phrase, normalize, tokens
from tests.factories import import_demo_catalog

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_catalog")]


@pytest.fixture
def catalog():
    return import_demo_catalog()


def suggested(text):
    return [(s["text"], s["kind"], s["entity"]["name"]) for s in selectors.suggest_spans(text=text)]


def test_the_demo_sentence_before_and_after_correction(catalog):
    assert suggested("shake it off my taylor swift") == [
        ("shake it off", "song", "Shake It Off"),  # everyday words, but beside a named artist
        ("taylor swift", "artist", "Taylor Swift"),
    ]
    assert suggested("play shake it off my taylor swift") == [
        ("shake it off", "song", "Shake It Off"),
        ("taylor swift", "artist", "Taylor Swift"),
    ]
    assert suggested("Shake It Off by Taylor Swift") == [
        ("Shake It Off", "song", "Shake It Off"),
        ("Taylor Swift", "artist", "Taylor Swift"),
    ]


def test_offsets_point_at_the_original_text(catalog):
    text = "Play  “Shake It Off” by TAYLOR SWIFT, please"
    for s in selectors.suggest_spans(text=text):
        assert text[s["start"] : s["end"]] == s["text"]
    assert [s["text"] for s in selectors.suggest_spans(text=text)] == ["Shake It Off", "TAYLOR SWIFT"]


def test_aliases_and_accents(catalog):
    assert suggested("put on some beyonce") == [("beyonce", "artist", "Beyoncé")]
    assert suggested("play something by T Swift") == [("T Swift", "artist", "Taylor Swift")]
    assert suggested("play despacito by luis fonsi")[-1] == ("luis fonsi", "artist", "Luis Fonsi")


def test_the_words_around_decide_the_kind(catalog):
    # "Thriller" is a song and an album: "by" after it says song (and the song is more popular anyway)
    assert suggested("play thriller by michael jackson") == [
        ("thriller", "song", "Thriller"),
        ("michael jackson", "artist", "Michael Jackson"),
    ]
    assert suggested("what's the weather in london") == [("london", "place", "London")]
    assert suggested("open spotify") == [("spotify", "app", "Spotify")]


def test_everyday_words_are_not_suggested_without_a_cue(catalog):
    assert suggested("wake me up at seven") == []
    assert suggested("say hello to grandma") == []
    assert suggested("wake me up when taylor swift tickets go on sale") == [("taylor swift", "artist", "Taylor Swift")]
    assert suggested("set a timer for ten minutes") == []
    assert suggested("add milk to my shopping list") == []  # "other" is not linked to the catalog
    # ...but with one they are
    assert suggested("play hello by adele") == [("hello", "song", "Hello"), ("adele", "artist", "Adele")]


def test_longest_match_wins_and_alternatives_are_offered(catalog):
    (purple,) = selectors.suggest_spans(text="play purple rain")
    assert purple["text"] == "purple rain" and purple["kind"] == "song"
    assert [(a["name"], a["kind"]) for a in purple["alternatives"]] == [("Purple Rain", "album")]


@pytest.mark.parametrize(
    ("who", "status"),
    [("reviewer", 200), ("lead", 200), ("officer", 403), ("outsider", 403), ("anonymous", 401)],
)
def test_suggest_api_by_role(client, catalog, request, who, status):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    body = json.dumps({"text": "play shake it off my taylor swift"})
    response = client.post("/catalog/api/suggest", body, content_type="application/json")
    assert response.status_code == status
    if status == 200:
        assert [(s["start"], s["end"], s["kind"]) for s in response.json()["suggestions"]] == [
            (5, 17, "song"),
            (21, 33, "artist"),
        ]


def test_suggest_api_refuses_bad_bodies(client, reviewer):
    client.force_login(reviewer)
    assert client.post("/catalog/api/suggest", "[]", content_type="application/json").status_code == 400
    assert client.post("/catalog/api/suggest", "{", content_type="application/json").status_code == 400
    body = json.dumps({"text": "x" * 5001})
    assert client.post("/catalog/api/suggest", body, content_type="application/json").status_code == 400
    assert client.get("/catalog/api/suggest").status_code == 405


# --- folding -------------------------------------------------------------------------------


def test_normalize_folds_accents_case_apostrophes_and_ampersands():
    assert normalize("Beyoncé") == "beyonce"
    assert normalize("Don't Stop Me Now") == "dont stop me now"
    assert normalize("Tyler, the Creator") == "tyler the creator"
    assert normalize("Mumford & Sons") == "mumford and sons"
    assert normalize("AC/DC") == "ac dc"
    assert [t.norm for t in tokens("Señorita—HUMBLE.")] == ["senorita", "humble"]


def test_find_phrase_matches_whole_words_accent_and_case_insensitively():
    text = "Play BEYONCÉ, then beyonce's hits; not Beyoncéx. Taylor  Swift too"
    found = find_phrase(text, "beyonce")
    assert [text[s:e] for s, e in found] == ["BEYONCÉ", "beyonce"]  # a possessive ("'s") is still the name
    assert [text[s:e] for s, e in find_phrase(text, "taylor swift")] == ["Taylor  Swift"]
    assert find_phrase(text, "  ") == []
