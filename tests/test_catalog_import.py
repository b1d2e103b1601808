"""Importing the catalog: JSONL and CSV, bad rows by line number, re-import updates, the demo file, the admin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotate.catalog import importer, services
from annotate.catalog.models import CatalogState, Entity, EntityKind

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_catalog")]

DEMO = Path(__file__).resolve().parent.parent / "demo" / "catalog.jsonl"
MB_TAYLOR = "dac9949f-167c-554a-9d16-d6ba3fe6efd2"


def write_jsonl(path, lines):
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def run_import(path):
    return services.import_catalog(rows=importer.read_file(path))


def test_kinds_are_data_with_a_linkable_flag():
    kinds = {k.slug: k for k in EntityKind.objects.all()}
    assert list(kinds) == ["artist", "song", "album", "podcast", "app", "place", "other"]
    assert kinds["podcast"].name == "podcast / audiobook" and kinds["app"].name == "app / skill"
    assert all(k.linkable for slug, k in kinds.items() if slug != "other") and not kinds["other"].linkable


def test_jsonl_import_creates_entities_with_folded_search_text(tmp_path):
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [
            {
                "kind": "artist",
                "name": "Beyoncé",
                "aliases": ["Queen Bey"],
                "external_ids": {"musicbrainz": "mb-1"},
                "popularity": 99,
            },
            {"kind": "song", "name": "Don't Stop Me Now"},
            {"kind": "album", "name": "÷", "aliases": ["Divide"]},
        ],
    )
    report = run_import(path)
    assert (report.created, report.updated, report.bad) == (3, 0, [])
    beyonce = Entity.objects.get(name="Beyoncé")
    assert beyonce.kind.slug == "artist" and beyonce.popularity == 99
    assert beyonce.external_ids == {"musicbrainz": "mb-1"}
    assert beyonce.search_text == "beyonce | queen bey"
    assert Entity.objects.get(kind__slug="song").name_key == "dont stop me now"
    assert Entity.objects.get(kind__slug="album").name_key == "divide"  # a name without letters: its alias
    assert CatalogState.objects.get().version == 1


def test_bad_rows_are_reported_with_line_numbers_and_the_rest_imported(tmp_path):
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [
            {"kind": "artist", "name": "Adele", "external_ids": {"musicbrainz": "mb-adele"}},
            "{not json",
            {"kind": "painter", "name": "Frida Kahlo"},
            {"kind": "artist"},
            "",
            {"kind": "song", "name": "Hello", "popularity": 150},
            {"kind": "song", "name": "Hello", "aliases": "Hi"},
            {"kind": "artist", "name": "Adele again", "external_ids": {"musicbrainz": "mb-adele"}},
            {"kind": "song", "name": "Skyfall", "external_ids": ["mb"]},
            {"kind": "song", "name": "Rolling in the Deep", "popularity": 90},
        ],
    )
    report = run_import(path)
    assert report.created == 2
    assert {e.name for e in Entity.objects.all()} == {"Adele", "Rolling in the Deep"}
    assert [(b.line, b.message.split(" (")[0]) for b in report.bad] == [
        (2, "not valid JSON"),
        (3, "unknown kind 'painter'"),
        (4, "name is missing"),
        (6, "popularity must be a whole number from 0 to 100"),
        (7, "aliases must be a list of strings"),
        (8, "the same musicbrainz id as line 1"),
        (9, 'external_ids must map a scheme to an id, e.g. {"musicbrainz": "…"}'),
    ]


def test_reimport_updates_by_external_id_and_by_kind_and_name(tmp_path):
    first = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"kind": "artist", "name": "Taylor Swift", "external_ids": {"musicbrainz": MB_TAYLOR}, "popularity": 90},
            {"kind": "place", "name": "London", "popularity": 50},
        ],
    )
    run_import(first)
    taylor, london = Entity.objects.get(kind__slug="artist"), Entity.objects.get(kind__slug="place")
    second = write_jsonl(
        tmp_path / "b.jsonl",
        [
            # renamed, new alias, new popularity: same MusicBrainz id, so the same entity
            {
                "kind": "artist",
                "name": "Taylor Alison Swift",
                "aliases": ["T Swift"],
                "external_ids": {"musicbrainz": MB_TAYLOR, "wikidata": "Q26876"},
                "popularity": 100,
            },
            {"kind": "place", "name": "london", "aliases": ["LDN"], "popularity": 80},  # no id: kind and name
            {"kind": "place", "name": "Paris"},
        ],
    )
    report = run_import(second)
    assert (report.created, report.updated, report.unchanged) == (1, 2, 0)
    taylor.refresh_from_db()
    london.refresh_from_db()
    assert taylor.name == "Taylor Alison Swift" and taylor.aliases == ["T Swift"] and taylor.popularity == 100
    assert taylor.external_ids == {"musicbrainz": MB_TAYLOR, "wikidata": "Q26876"}
    assert "t swift" in taylor.search_text
    assert london.aliases == ["LDN"] and london.popularity == 80
    assert Entity.objects.count() == 3
    again = run_import(second)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_csv_import(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "kind,name,aliases,popularity,external_ids\n"
        "artist,Taylor Swift,T Swift|Tay Tay,100,musicbrainz:" + MB_TAYLOR + "\n"
        "song,Shake It Off,,95,\n"
        "podcast / audiobook,The Daily,,70,\n"
        "artist,,,,\n"
        "song,Halo,,x,\n"
        'song,"Crazy in Love",,80,musicbrainz\n'
    )
    report = run_import(path)
    assert report.created == 3
    assert Entity.objects.get(name="Taylor Swift").aliases == ["T Swift", "Tay Tay"]
    assert Entity.objects.get(name="The Daily").kind.slug == "podcast"  # kinds by name too
    assert [(b.line, b.message) for b in report.bad] == [
        (5, "name is missing"),
        (6, "popularity must be a whole number from 0 to 100"),
        (7, "external_ids must be scheme:id, separated by |"),
    ]


def test_command_reports_bad_lines_and_fails_after_importing_the_rest(tmp_path, capsys):
    path = write_jsonl(tmp_path / "c.jsonl", [{"kind": "artist", "name": "Adele"}, "nope"])
    with pytest.raises(CommandError, match="1 bad row"):
        call_command("import_catalog", str(path))
    out, err = capsys.readouterr()
    assert "c.jsonl:2: not valid JSON" in err
    assert "1 created" in out
    assert Entity.objects.filter(name="Adele").exists()


def test_the_demo_catalog_imports_cleanly_and_reimports_unchanged(capsys):
    call_command("import_catalog", str(DEMO))
    out = capsys.readouterr().out
    lines = sum(1 for line in DEMO.read_text().splitlines() if line.strip())
    assert f"{lines} created, 0 updated, 0 unchanged, 0 bad row(s)" in out
    version = CatalogState.objects.get().version
    call_command("import_catalog", str(DEMO))
    assert f"0 created, 0 updated, {lines} unchanged" in capsys.readouterr().out
    assert CatalogState.objects.get().version == version  # nothing changed: search indexes stay


def test_entities_are_editable_in_the_admin_and_search_sees_the_change(client, admin_user, tmp_path):
    from annotate.catalog import selectors

    run_import(write_jsonl(tmp_path / "c.jsonl", [{"kind": "artist", "name": "Adele", "popularity": 90}]))
    adele = Entity.objects.get()
    assert selectors.search_entities(query="adkins") == []
    client.force_login(admin_user)  # the toolbox sign-in: password and second factor
    assert client.get("/admin/catalog/entity/").status_code == 200
    response = client.post(
        f"/admin/catalog/entity/{adele.pk}/change/",
        {
            "kind": adele.kind_id,
            "name": "Adele",
            "aliases": '["Adele Adkins"]',
            "external_ids": "{}",
            "popularity": 91,
        },
    )
    assert response.status_code == 302, response.content[:2000]
    adele.refresh_from_db()
    assert adele.search_text == "adele | adele adkins"
    assert [r["name"] for r in selectors.search_entities(query="adkins")] == ["Adele"]  # the index was rebuilt
