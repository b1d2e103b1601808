"""The REST API (issue 18, annotate/api.py): its OpenAPI schema, scoped tokens, the error shape, the
results feed read by cursor, exports and backfills. The ingest and privacy endpoints keep their own
tests (tests/test_ingest_api.py, tests/test_privacy.py); schemathesis fuzzes the whole schema
against the production server (tests/topology/test_api_schema.py)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.contrib.auth.models import User
from django.test import TestCase

from annotate.accounts.models import SCOPES, ApiToken
from annotate.catalog.models import Entity
from annotate.catalog.spans import SpanInput
from annotate.leads.models import Export
from annotate.quality.models import FinalTranscript
from annotate.queues.models import Backfill
from tests.factories import import_entities, make_clip, make_queue, reviewed

pytestmark = pytest.mark.django_db


def token(*scopes: str) -> str:
    user, _ = User.objects.get_or_create(username="service")
    return ApiToken.issue(user=user, name="test", scopes=list(scopes))[1]


def get(client, url: str, bearer: str | None = None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {bearer}"} if bearer else {}
    return client.get(url, **headers, **extra)


def post(client, url: str, body: dict, bearer: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {bearer}"} if bearer else {}
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_the_schema_is_served_at_a_stable_url(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.") and schema["info"]["version"] == "1"
    assert set(schema["paths"]) == {
        "/api/v1/clips",
        "/api/v1/opt-outs",
        "/api/v1/erasures",
        "/api/v1/privacy-requests/{public_id}",
        "/api/v1/results",
        "/api/v1/exports",
        "/api/v1/exports/{export_id}",
        "/api/v1/exports/{export_id}/download",
        "/api/v1/queues/{queue_id}/backfills",
        "/api/v1/queues/{queue_id}/backfills/{backfill_id}",
    }


SCOPED = [
    ("get", "/api/v1/results", None, "results"),
    ("post", "/api/v1/exports", {"format": "jsonl"}, "exports"),
    ("get", "/api/v1/exports/1", None, "exports"),
    ("get", "/api/v1/exports/1/download", None, "exports"),
    ("post", "/api/v1/queues/1/backfills", {"days": 7, "cap": 10}, "exports"),
    ("get", "/api/v1/queues/1/backfills/1", None, "exports"),
]


@pytest.mark.parametrize(("method", "url", "body", "scope"), SCOPED)
def test_each_endpoint_needs_a_token_with_its_scope(client, method, url, body, scope):
    send = (lambda b: post(client, url, body, b)) if method == "post" else (lambda b: get(client, url, b))
    anonymous = send(None)
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "error": "missing or invalid API token (Authorization: Bearer <token>)",
        "code": "unauthorized",
    }
    assert send("ann_not-a-token").status_code == 401
    others = [s for s in SCOPES if s != scope]
    refused = send(token(*others))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert scope in refused.json()["error"]
    assert send(token(scope)).status_code in (200, 202, 404)  # past the door (1 may not exist)


def test_a_revoked_token_or_an_inactive_account_opens_nothing(client):
    bearer = token("results")
    ApiToken.objects.update(revoked=True)
    assert get(client, "/api/v1/results", bearer).status_code == 401
    ApiToken.objects.update(revoked=False)
    User.objects.filter(username="service").update(is_active=False)
    assert get(client, "/api/v1/results", bearer).status_code == 401


def test_the_results_feed_is_read_by_cursor_with_spans_and_grades(client, reviewer):
    import_entities({"kind": "artist", "name": "Adele", "popularity": 90})
    adele = Entity.objects.get(name="Adele")
    queue = make_queue(reviewer)
    first = make_clip("play hello by adele")
    second = make_clip("set a timer")
    reviewed(
        reviewer,
        queue,
        "play hello by adele",
        answer_grade="right",
        spans=(SpanInput(14, 19, "adele", "artist", entity_id=adele.pk),),
    )
    reviewed(reviewer, queue, "set a timer", answer_grade="wrong")
    bearer = token("results")

    page = get(client, "/api/v1/results?limit=1", bearer).json()
    [item] = page["results"]
    assert item["clip"] == first.public_id and item["text"] == "play hello by adele" and item["source"] == "single"
    assert item["grades"] == {"right": 1}
    [span] = item["spans"]
    assert (span["start"], span["end"], span["kind"], span["entity"]["id"]) == (14, 19, "artist", adele.pk)
    assert page["next_cursor"]

    rest = get(client, f"/api/v1/results?limit=1&cursor={page['next_cursor']}", bearer).json()
    assert [r["clip"] for r in rest["results"]] == [second.public_id]
    end = get(client, f"/api/v1/results?limit=1&cursor={rest['next_cursor']}", bearer).json()
    assert end == {"results": [], "next_cursor": None}

    # A decision made later comes after the cursor: the feed is read incrementally.
    FinalTranscript.objects.filter(clip=first).update(text="play hello by adele!")
    FinalTranscript.objects.get(clip=first).save()  # decided again, now
    again = get(client, f"/api/v1/results?cursor={rest['next_cursor']}", bearer).json()
    assert [r["clip"] for r in again["results"]] == [first.public_id]


@pytest.mark.parametrize(
    ("query", "message"),
    [("limit=0", "limit must be between 1 and 500"), ("cursor=nonsense!", "cursor is not one this API gave")],
)
def test_bad_feed_parameters_are_refused_in_the_error_shape(client, query, message):
    response = get(client, f"/api/v1/results?{query}", token("results"))
    assert response.status_code == 400 and response.json() == {"error": message, "code": "invalid"}


def test_an_export_is_started_watched_and_downloaded(client, reviewer, settings):
    settings.REDIS_URL = ""  # the export job runs in process once the request commits
    queue = make_queue(reviewer)
    clip = make_clip("play halo")
    reviewed(reviewer, queue, "play halo")
    bearer = token("exports")
    with TestCase.captureOnCommitCallbacks(execute=True):
        started = post(client, "/api/v1/exports", {"format": "jsonl", "queue_id": queue.pk}, bearer)
    assert started.status_code == 202, started.content
    export_id = started.json()["id"]
    status = get(client, f"/api/v1/exports/{export_id}", bearer).json()
    assert status["state"] == "done" and status["download_url"] == f"/api/v1/exports/{export_id}/download"
    download = get(client, status["download_url"], bearer)
    assert download.status_code == 200 and download["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert json.loads(archive.read("transcripts.jsonl"))["id"] == clip.public_id
    assert Export.objects.get(pk=export_id).requested_by.username == "service"

    bad = post(client, "/api/v1/exports", {"format": "docx"}, bearer)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid" and "format" in bad.json()["error"]
    assert post(client, "/api/v1/exports", {"format": "jsonl", "queue_id": 999999}, bearer).status_code == 404


def test_an_unfinished_or_gone_export_is_not_downloaded(client, lead):
    bearer = token("exports")
    export = Export.objects.create(requested_by=lead, format="jsonl")
    response = get(client, f"/api/v1/exports/{export.pk}/download", bearer)
    assert response.status_code == 409 and response.json()["code"] == "error"
    assert get(client, "/api/v1/exports/999999", bearer).json()["code"] == "not_found"


def test_a_backfill_through_the_api(client, reviewer, settings):
    settings.REDIS_URL = ""
    make_clip("play halo")
    queue = make_queue(reviewer)
    bearer = token("exports")
    with TestCase.captureOnCommitCallbacks(execute=True):
        started = post(client, f"/api/v1/queues/{queue.pk}/backfills", {"days": 7, "cap": 10}, bearer)
    assert started.status_code == 202, started.content
    status = get(client, started.json()["status_url"], bearer).json()
    assert (status["state"], status["matching"], status["added"]) == ("done", 1, 1)
    refused = post(client, f"/api/v1/queues/{queue.pk}/backfills", {"days": 500, "cap": 10}, bearer)
    assert refused.status_code == 400
    assert refused.json() == {"error": "days: Input should be less than or equal to 90", "code": "invalid"}
    huge = post(client, f"/api/v1/queues/{queue.pk}/backfills", {"days": 7, "cap": 10**30}, bearer)
    assert huge.status_code == 400 and huge.json()["error"].startswith("cap:")
    assert get(client, f"/api/v1/queues/{queue.pk}/backfills/{10**30}", bearer).status_code == 400
    assert Backfill.objects.count() == 1


def test_the_command_issues_scoped_tokens(capsys):
    from django.core.management import call_command

    call_command("create_api_token", "reader", "--scope", "results")
    issued = capsys.readouterr().out.strip()
    found = ApiToken.objects.get(user__username="reader")
    assert found.scopes == ["results"] and issued.startswith("ann_")
    assert not User.objects.get(username="reader").groups.exists()  # a reader is not the ingest pipeline
