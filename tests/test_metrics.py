"""The operator's metrics at /metrics (issue 17): only the operator reaches them, and each named
metric moves when its event happens. Scraped through the real view, parsed with
prometheus-client's own parser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from annotate.asgi import application
from annotate.clips import asr, ingest
from annotate.clips.models import Clip
from annotate.escalation.models import Case
from tests.factories import derived, flag_task, held_clip, make_clip, make_queue, move
from tests.support import AUDIO, as_user, clip_meta

pytestmark = pytest.mark.django_db
TOKEN = "operator-token-0123456789"


@pytest.fixture
def metrics_on(settings):
    settings.ANNOTATE_METRICS_TOKEN = TOKEN
    settings.ANNOTATE_METRICS_ALLOW = []


def scrape(client=None) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- who reaches it ---------------------------------------------------------------------------------


def test_without_a_token_or_networks_there_are_no_metrics(settings, client):
    settings.ANNOTATE_METRICS_TOKEN, settings.ANNOTATE_METRICS_ALLOW = "", []
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("who", ["anonymous", "reviewer", "other_reviewer", "lead", "officer"])
def test_only_the_operators_token_opens_them_whoever_is_signed_in(metrics_on, client, personas, who):
    as_user(client, personas[who])
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_an_allowed_network_scrapes_without_a_token(settings, client):
    settings.ANNOTATE_METRICS_TOKEN, settings.ANNOTATE_METRICS_ALLOW = "", ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.9").status_code == 403
    assert client.post("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 405


# --- each metric moves with its event ------------------------------------------------------------------


def test_ingest_outcomes_are_counted_by_reason(metrics_on):
    before = scrape()
    first = ingest.ingest_clip(data=(AUDIO / "timer.ogg").read_bytes(), meta=ingest.parse_meta(clip_meta()))
    ingest.ingest_clip(data=(AUDIO / "timer.ogg").read_bytes(), meta=ingest.parse_meta(clip_meta()))  # again
    ingest.ingest_clip(data=(AUDIO / "silence.wav").read_bytes(), meta=ingest.parse_meta(clip_meta()))
    ingest.ingest_clip(data=(AUDIO / "not_audio.wav").read_bytes(), meta=ingest.parse_meta(clip_meta()))
    ingest.ingest_clip(data=b"x", meta=ingest.parse_meta(clip_meta(opted_out=True)))
    after = scrape()
    assert first.outcome == "imported"

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("annotate_clips_ingested_total") == 1
    assert moved("annotate_clips_refused_total", reason="duplicate") == 1
    assert moved("annotate_clips_refused_total", reason="rejected_silent") == 1
    assert moved("annotate_clips_refused_total", reason="rejected_undecodable") == 1
    assert moved("annotate_clips_refused_total", reason="opted_out") == 1


def test_the_whisper_backlog_its_oldest_clip_and_transcription_seconds(metrics_on):
    before = scrape()
    result = ingest.ingest_clip(data=(AUDIO / "timer.ogg").read_bytes(), meta=ingest.parse_meta(clip_meta()))
    Clip.objects.filter(pk=result.clip.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    waiting = scrape()
    assert value(waiting, "annotate_asr_backlog", state="pending_asr") == 1
    assert value(waiting, "annotate_asr_oldest_pending_seconds") >= 299

    asr.transcribe_clip(clip_id=result.clip.pk)
    done = scrape()
    assert value(done, "annotate_asr_backlog", state="pending_asr") == 0
    assert value(done, "annotate_asr_oldest_pending_seconds") == 0
    assert (
        value(done, "annotate_transcription_seconds_count") == value(before, "annotate_transcription_seconds_count") + 1
    )
    assert value(done, "annotate_transcription_seconds_sum") > value(before, "annotate_transcription_seconds_sum")


def test_open_tasks_claim_and_submit_latency_and_the_outbox(metrics_on, reviewer, client):
    queue = make_queue(reviewer, name="Music")
    make_clip("play halo")
    before = scrape()
    assert value(before, "annotate_open_tasks", queue="Music") == 1

    client.force_login(reviewer)
    claimed = client.post("/review/api/claim", {"queue_id": queue.pk}, content_type="application/json").json()
    task_id = claimed["tasks"][0]["task_id"]
    held = scrape()
    assert value(held, "annotate_open_tasks", queue="Music") == 0
    assert value(held, "annotate_claim_seconds_count") == value(before, "annotate_claim_seconds_count") + 1

    body = {"idempotency_key": "m1", "corrected_text": "play halo", "answer_grade": "right"}
    assert client.post(f"/review/api/tasks/{task_id}/submit", body, content_type="application/json").status_code == 201
    submitted = scrape()
    assert value(submitted, "annotate_submit_seconds_count") == value(before, "annotate_submit_seconds_count") + 1
    assert value(submitted, "annotate_outbox_backlog", kind="annotations") == 1
    derived()
    assert value(scrape(), "annotate_outbox_backlog", kind="annotations") == 0


def test_open_cases_by_severity_and_the_oldest_unacknowledged(metrics_on, reviewer, officer, queue):
    case = flag_task(reviewer, held_clip(reviewer, queue, with_audio=False)).case
    Case.objects.filter(pk=case.pk).update(opened_at=timezone.now() - timedelta(minutes=2))
    opened = scrape()
    assert value(opened, "annotate_open_cases", severity="critical") == 1
    assert value(opened, "annotate_oldest_unacknowledged_case_seconds") >= 119
    move(case, Case.State.ACKNOWLEDGED, officer)
    acknowledged = scrape()
    assert value(acknowledged, "annotate_open_cases", severity="critical") == 1
    assert value(acknowledged, "annotate_oldest_unacknowledged_case_seconds") == 0


@pytest.mark.django_db(transaction=True)  # the consumer's own database calls end the test's connection
def test_websocket_connections_are_counted_while_open(metrics_on, officer, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    client = Client()
    client.force_login(officer)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    comm = WebsocketCommunicator(
        application, "/ws/cases/", headers=[(b"origin", b"http://testserver"), (b"cookie", cookie)]
    )

    def officers() -> float:
        return value(scrape(), "annotate_websocket_connections", consumer="officers")

    before = officers()

    @async_to_sync
    async def run() -> tuple[float, float]:
        connected, _ = await comm.connect()
        assert connected
        try:
            while_open = await sync_to_async(officers)()
        finally:
            await comm.disconnect()
        return while_open, await sync_to_async(officers)()

    while_open, after = run()
    assert (while_open, after) == (before + 1, before)
