"""Catalog search: fuzzy ranking on names and aliases, popularity as tie-breaker, kinds, access, both backends."""

from __future__ import annotations

import pytest
from django.db import connection

from annotate.catalog import importer, selectors, services
from annotate.catalog.models import EntityKind
from tests.factories import import_demo_catalog

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_catalog")]


@pytest.fixture
def catalog():
    return import_demo_catalog()


def names(query, kind=None, limit=5):
    kind_obj = EntityKind.objects.get(slug=kind) if kind else None
    return [r["name"] for r in selectors.search_entities(query=query, kind=kind_obj, limit=limit)]


BACKENDS = ["memory", pytest.param("trigram", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request, settings):
    settings.ANNOTATE_CATALOG_SEARCH = request.param
    return request.param


@pytest.mark.parametrize(
    "query",
    ["taylor swift", "Taylor Swift", "TAYLOR SWIFT", "tayler swft", "T Swift", "taylor", "tay tay", "swift"],
)
def test_taylor_swift_is_the_top_result(catalog, backend, query):
    assert selectors.search_backend() == (backend if connection.vendor == "postgresql" else "memory")
    assert names(query)[0] == "Taylor Swift"


def test_accents_and_case_are_folded(catalog, backend):
    assert names("beyonce")[0] == "Beyoncé"
    assert names("BEYONCÉ")[0] == "Beyoncé"
    assert names("rosalia")[0] == "Rosalía"
    assert names("senorita", kind="song")[0] == "Señorita"


def test_aliases_match(catalog, backend):
    assert names("Drizzy")[0] == "Drake"
    assert names("RHCP")[0] == "Red Hot Chili Peppers"
    assert names("divide", kind="album")[0] == "÷"


def test_popularity_breaks_ties(catalog, backend):
    # "Thriller" is both a song and an album; the song is the more popular of the two.
    results = selectors.search_entities(query="thriller", limit=2)
    assert [(r["name"], r["kind"], r["score"]) for r in results] == [
        ("Thriller", "song", 100.0),
        ("Thriller", "album", 100.0),
    ]
    assert results[0]["popularity"] > results[1]["popularity"]


def test_kind_filter(catalog, backend):
    assert names("thriller", kind="album") == ["Thriller"]
    assert all(
        r["kind"] == "song" for r in selectors.search_entities(query="love", kind=EntityKind.objects.get(slug="song"))
    )


def test_results_carry_what_the_page_shows(catalog):
    (top,) = selectors.search_entities(query="T Swift", limit=1)
    assert top["name"] == "Taylor Swift" and top["matched"] == "t swift" and top["score"] == 100.0
    assert top["kind"] == "artist" and top["kind_name"] == "artist" and top["popularity"] == 100
    assert top["external_ids"] == {"musicbrainz": "dac9949f-167c-554a-9d16-d6ba3fe6efd2"}
    assert "T Swift" in top["aliases"]


def test_nonsense_and_empty_queries_find_nothing(catalog):
    assert names("") == []
    assert names("   !!! ") == []
    assert names("xqzvjkw") == []


def test_the_in_memory_index_is_rebuilt_when_the_catalog_changes(catalog):
    assert "Zebulon Quartz" not in names("Zebulon Quartz")
    services.import_catalog(rows=importer.read_dicts([{"kind": "artist", "name": "Zebulon Quartz"}]))
    assert names("zebulon quartz")[0] == "Zebulon Quartz"


# --- the endpoint ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("reviewer", 200),
        ("other_reviewer", 200),
        ("lead", 200),
        ("officer", 403),
        ("outsider", 403),
        ("anonymous", 401),
    ],
)
def test_search_api_by_role(client, catalog, request, who, status):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    response = client.get("/catalog/api/search", {"q": "tayler swft"})
    assert response.status_code == status
    if status == 200:
        assert response.json()["results"][0]["name"] == "Taylor Swift"


def test_search_api_kind_and_limit(client, catalog, reviewer):
    client.force_login(reviewer)
    response = client.get("/catalog/api/search", {"q": "thriller", "kind": "album", "limit": 3})
    assert [r["kind"] for r in response.json()["results"]] == ["album"]
    assert client.get("/catalog/api/search", {"q": "x", "kind": "painter"}).status_code == 400
    assert client.get("/catalog/api/search", {"q": "x", "limit": "many"}).status_code == 400
    assert client.post("/catalog/api/search", {"q": "x"}).status_code == 405


def test_kinds_api_numbers_the_kinds_for_their_keys(client, reviewer):
    client.force_login(reviewer)
    kinds = client.get("/catalog/api/kinds").json()["kinds"]
    assert [(k["digit"], k["slug"]) for k in kinds][:3] == [(1, "artist"), (2, "song"), (3, "album")]
    assert [k["linkable"] for k in kinds][-1] is False


def test_a_search_reads_only_the_catalog_version_from_the_database(client, catalog, reviewer):
    from django.test.utils import CaptureQueriesContext

    client.force_login(reviewer)
    client.get("/catalog/api/search", {"q": "warm up"})  # builds this process's index
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/catalog/api/search", {"q": "taylor swift"}).status_code == 200
    catalog = [q["sql"] for q in queries.captured_queries if "catalog_" in q["sql"]]
    assert len(catalog) == 1 and "catalog_catalogstate" in catalog[0]
